"""Drives `/v1/messages` on the gateway with the official anthropic SDK; prints one
JSON line per check.

Usage: python anthropic_sdk.py BASE_URL API_KEY MODEL
"""
import json
import sys

import anthropic

TOOLS = [{
    "name": "get_weather",
    "description": "Weather in a city",
    "input_schema": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
}]


def main() -> None:
    base_url, key, model = sys.argv[1:4]
    client = anthropic.Anthropic(base_url=base_url, api_key=key, max_retries=0, timeout=60)

    msg = client.messages.create(
        model=model,
        max_tokens=64,
        system="Be brief.",
        messages=[{"role": "user", "content": "sdk messages é"}],
    )
    print(json.dumps({
        "check": "create",
        "text": "".join(b.text for b in msg.content if b.type == "text"),
        "stop_reason": msg.stop_reason,
        "input_tokens": msg.usage.input_tokens,
        "output_tokens": msg.usage.output_tokens,
    }))

    with client.messages.stream(
        model=model,
        max_tokens=64,
        messages=[{"role": "user", "content": "sdk stream 日本"}],
    ) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    print(json.dumps({
        "check": "stream",
        "text": text,
        "stop_reason": final.stop_reason,
        "output_tokens": final.usage.output_tokens,
    }))

    tool = client.messages.create(
        model=model,
        max_tokens=64,
        tools=TOOLS,
        messages=[{"role": "user", "content": "weather in Paris?"}],
    )
    use = next(b for b in tool.content if b.type == "tool_use")
    follow = client.messages.create(
        model=model,
        max_tokens=64,
        tools=TOOLS,
        messages=[
            {"role": "user", "content": "weather in Paris?"},
            {"role": "assistant", "content": tool.content},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": use.id, "content": "sunny"}]},
        ],
    )
    print(json.dumps({
        "check": "tools",
        "stop_reason": tool.stop_reason,
        "name": use.name,
        "input": use.input,
        "follow_up": "".join(b.text for b in follow.content if b.type == "text"),
    }))

    with client.messages.stream(
        model=model,
        max_tokens=64,
        tools=TOOLS,
        messages=[{"role": "user", "content": "weather in Paris?"}],
    ) as stream:
        for _ in stream:
            pass
        final = stream.get_final_message()
    use = next((b for b in final.content if b.type == "tool_use"), None)
    print(json.dumps({
        "check": "stream_tools",
        "stop_reason": final.stop_reason,
        "name": use.name if use else None,
        "input": use.input if use else None,
    }))

    count = client.messages.count_tokens(
        model=model, messages=[{"role": "user", "content": "count me"}]
    )
    print(json.dumps({"check": "count_tokens", "input_tokens": count.input_tokens}))

    try:
        client.messages.create(
            model="no-such-model", max_tokens=8,
            messages=[{"role": "user", "content": "x"}],
        )
        print(json.dumps({"check": "error", "raised": None}))
    except anthropic.APIStatusError as e:
        print(json.dumps({
            "check": "error",
            "raised": type(e).__name__,
            "status": e.status_code,
            "type": (e.body or {}).get("error", {}).get("type")
            if isinstance(e.body, dict) else None,
        }))


if __name__ == "__main__":
    main()
