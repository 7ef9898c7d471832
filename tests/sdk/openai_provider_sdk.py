"""Drives an Anthropic or Gemini channel through the gateway with the official openai
SDK; prints one JSON line per check.

Usage: python openai_provider_sdk.py BASE_URL API_KEY MODEL
"""
import json
import sys

from openai import OpenAI

TOOLS = [{
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather in a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}]


def main() -> None:
    base_url, key, model = sys.argv[1:4]
    client = OpenAI(base_url=base_url, api_key=key, max_retries=0, timeout=60)

    chat = client.chat.completions.create(
        model=model,
        messages=[
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "sdk chat é"},
        ],
        max_tokens=32,
    )
    print(json.dumps({
        "check": "chat",
        "content": chat.choices[0].message.content,
        "finish_reason": chat.choices[0].finish_reason,
        "prompt_tokens": chat.usage.prompt_tokens if chat.usage else None,
        "completion_tokens": chat.usage.completion_tokens if chat.usage else None,
    }))

    text = ""
    usage = None
    finish = None
    first_role = None
    stream = client.chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": "sdk stream 日本"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    for chunk in stream:
        for choice in chunk.choices:
            if first_role is None:
                first_role = choice.delta.role
            text += choice.delta.content or ""
            finish = choice.finish_reason or finish
        if chunk.usage:
            usage = chunk.usage.completion_tokens
    print(json.dumps({"check": "stream", "content": text, "finish_reason": finish,
                      "role": first_role, "completion_tokens": usage}))

    tool = client.chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": "weather in Paris?"}],
        tools=TOOLS,
    )
    msg = tool.choices[0].message
    call = msg.tool_calls[0]
    args = json.loads(call.function.arguments)
    follow = client.chat.completions.create(
        model=model,
        messages=[
            {"role": "user", "content": "weather in Paris?"},
            msg.model_dump(exclude_none=True),
            {"role": "tool", "tool_call_id": call.id, "content": "sunny"},
        ],
        tools=TOOLS,
    )
    print(json.dumps({
        "check": "tools",
        "finish_reason": tool.choices[0].finish_reason,
        "name": call.function.name,
        "args": args,
        "follow_up": follow.choices[0].message.content,
    }))

    calls = {}
    finish = None
    stream = client.chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": "weather in Paris?"}],
        tools=TOOLS,
        stream=True,
    )
    for chunk in stream:
        for choice in chunk.choices:
            finish = choice.finish_reason or finish
            for tc in choice.delta.tool_calls or []:
                entry = calls.setdefault(tc.index, {"name": "", "args": ""})
                if tc.function and tc.function.name:
                    entry["name"] += tc.function.name
                if tc.function and tc.function.arguments:
                    entry["args"] += tc.function.arguments
    print(json.dumps({
        "check": "stream_tools",
        "finish_reason": finish,
        "count": len(calls),
        "name": calls.get(0, {}).get("name"),
        "args": json.loads(calls[0]["args"]) if 0 in calls else None,
    }))


if __name__ == "__main__":
    main()
