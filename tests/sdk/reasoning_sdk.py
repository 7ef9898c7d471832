"""Reasoning and structured output through the official SDKs (issue 15); prints one JSON
line per check.

Usage: python reasoning_sdk.py openai BASE_URL/v1 API_KEY CLAUDE_MODEL
       python reasoning_sdk.py anthropic BASE_URL API_KEY REASONING_MODEL
"""
import json
import sys

import anthropic
import openai
import pydantic

TOOLS = [{"type": "function", "function": {
    "name": "get_weather", "description": "Weather in a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}]


class Weather(pydantic.BaseModel):
    city: str
    temperature: int


def openai_on_claude(base_url: str, key: str, model: str) -> None:
    client = openai.OpenAI(base_url=base_url, api_key=key, max_retries=0, timeout=60)
    messages = [{"role": "user", "content": "weather in Paris?"}]
    first = client.chat.completions.create(
        model=model, max_tokens=8000, reasoning_effort="low", messages=messages, tools=TOOLS)
    msg = first.choices[0].message
    # The usual agent loop: the SDK's message object goes back as it came.
    messages.append(msg)
    messages.append({"role": "tool", "tool_call_id": msg.tool_calls[0].id, "content": "21C"})
    second = client.chat.completions.create(
        model=model, max_tokens=8000, reasoning_effort="low", messages=messages, tools=TOOLS)
    details = (msg.model_extra or {}).get("reasoning_details") or []
    print(json.dumps({
        "check": "replay",
        "reasoning": (msg.model_extra or {}).get("reasoning_content"),
        "signature": details[0].get("signature") if details else None,
        "follow_up": second.choices[0].message.content,
    }))
    parsed = client.chat.completions.parse(
        model=model, max_tokens=256, response_format=Weather,
        messages=[{"role": "user", "content": "weather in Paris as JSON"}])
    w = parsed.choices[0].message.parsed
    print(json.dumps({"check": "parse", "city": w.city, "temperature": w.temperature}))


def anthropic_on_reasoning_model(base_url: str, key: str, model: str) -> None:
    client = anthropic.Anthropic(base_url=base_url, api_key=key, max_retries=0, timeout=60)
    thinking = {"type": "enabled", "budget_tokens": 2000}
    msg = client.messages.create(
        model=model, max_tokens=8000, thinking=thinking,
        messages=[{"role": "user", "content": "hi"}])
    print(json.dumps({
        "check": "create",
        "types": [b.type for b in msg.content],
        "thinking": next((b.thinking for b in msg.content if b.type == "thinking"), None),
    }))
    with client.messages.stream(
        model=model, max_tokens=8000, thinking=thinking,
        messages=[{"role": "user", "content": "hi"}],
    ) as stream:
        final = stream.get_final_message()
    print(json.dumps({
        "check": "stream",
        "types": [b.type for b in final.content],
        "thinking": next((b.thinking for b in final.content if b.type == "thinking"), None),
        "input_tokens": final.usage.input_tokens,
        "output_tokens": final.usage.output_tokens,
    }))


def main() -> None:
    mode, base_url, key, model = sys.argv[1:5]
    if mode == "openai":
        openai_on_claude(base_url, key, model)
    else:
        anthropic_on_reasoning_model(base_url, key, model)


if __name__ == "__main__":
    main()
