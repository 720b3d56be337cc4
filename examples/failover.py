"""Two deployments behind one client: calls spread by weight; one goes down, the other answers everything.

    python examples/failover.py

Always runs on two bundled reference servers (a real failover needs two endpoints); the first is stopped
half way through.
"""

from __future__ import annotations

import collections
import sys

from llama_azure import Deployment, LlamaClient
from llama_azure.server.process import ReferenceServer

KEY = "example-key"


def main() -> None:
    print("(starting the bundled reference server: this example needs two of it)", file=sys.stderr, flush=True)
    with ReferenceServer(api_key=KEY) as east, ReferenceServer(api_key=KEY) as west:
        names = {east.url: "east", west.url: "west"}
        moves: list[str] = []
        client = LlamaClient(
            deployments=[Deployment(east.url, weight=3), Deployment(west.url, weight=1)],
            credential=KEY,
            on_retry=lambda attempt, error, wait: moves.append(type(error).__name__),
        )
        with client:
            answered: collections.Counter[str] = collections.Counter()
            for i in range(12):
                if i == 6:
                    east.stop()
                    print("east stopped")
                reply = client.chat.completions.create(
                    messages=[{"role": "user", "content": "Say hi."}], max_tokens=4)
                answered[names[reply.deployment.endpoint]] += 1
                print(f"call {i + 1}: answered by {names[reply.deployment.endpoint]}")
            print(f"answered: {sum(answered.values())}/12 (east {answered['east']}, west {answered['west']}); "
                  f"moved after: {', '.join(moves) or 'nothing'}")


if __name__ == "__main__":
    main()
