"""Runs an OpenAI Agents SDK agent (its default model, which uses the Responses API) with a
function tool through the gateway, plainly and streamed; tracing is disabled. Prints one
JSON line per check.

Usage: python openai_agents_sdk.py BASE_URL API_KEY MODEL
"""
import asyncio
import json
import sys

from agents import (Agent, Runner, function_tool, set_default_openai_api,
                    set_default_openai_client, set_tracing_disabled)
from openai import AsyncOpenAI

CALLS = []


@function_tool
def get_weather(city: str, unit: str) -> str:
    """The weather in a city."""
    CALLS.append({"city": city, "unit": unit})
    return f"22 degrees {unit} in {city}"


async def main() -> None:
    base_url, key, model = sys.argv[1:4]
    set_tracing_disabled(True)
    set_default_openai_client(AsyncOpenAI(base_url=base_url, api_key=key, max_retries=0),
                              use_for_tracing=False)
    set_default_openai_api("responses")
    agent = Agent(name="weather", instructions="Answer with the tool.", tools=[get_weather],
                  model=model)

    result = await Runner.run(agent, "What is the weather in Paris?")
    print(json.dumps({"check": "run", "final": result.final_output, "calls": list(CALLS),
                      "responses": len(result.raw_responses)}))

    CALLS.clear()
    streamed = Runner.run_streamed(agent, "And in Paris again?")
    kinds = []
    async for ev in streamed.stream_events():
        if ev.type == "run_item_stream_event":
            kinds.append(ev.item.type)
    print(json.dumps({"check": "streamed", "final": streamed.final_output,
                      "calls": list(CALLS), "items": kinds}))


if __name__ == "__main__":
    asyncio.run(main())
