"""Drives /v1/responses through the gateway with the official openai SDK
(`client.responses.create` and `client.responses.stream`, with a function tool and a
tool-output follow-up); prints one JSON line per check.

Usage: python openai_responses_sdk.py BASE_URL API_KEY MODEL
"""
import json
import sys

from openai import OpenAI

TOOLS = [{
    "type": "function",
    "name": "get_weather",
    "description": "Weather in a city",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}, "unit": {"type": "string"}},
        "required": ["city", "unit"],
        "additionalProperties": False,
    },
    "strict": True,
}]
QUESTION = {"role": "user", "content": "What is the weather in Paris?"}


def emit(check, **fields):
    print(json.dumps({"check": check, **fields}))


def call_of(response):
    return next(i for i in response.output if i.type == "function_call")


def follow_up_input(response, call, result):
    items = [QUESTION]
    items.extend(i.model_dump(exclude_none=True) for i in response.output)
    items.append({"type": "function_call_output", "call_id": call.call_id, "output": result})
    return items


def main() -> None:
    base_url, key, model = sys.argv[1:4]
    client = OpenAI(base_url=base_url, api_key=key, max_retries=0, timeout=60)

    r = client.responses.create(model=model, instructions="Be brief.",
                                input="sdk responses é", max_output_tokens=64, store=False)
    emit("create", text=r.output_text, status=r.status, object=r.object,
         input_tokens=r.usage.input_tokens, output_tokens=r.usage.output_tokens,
         cached_tokens=r.usage.input_tokens_details.cached_tokens,
         reasoning_tokens=r.usage.output_tokens_details.reasoning_tokens)

    r = client.responses.create(model=model, input=[QUESTION], tools=TOOLS, store=False)
    call = call_of(r)
    follow = client.responses.create(model=model, tools=TOOLS, store=False,
                                     input=follow_up_input(r, call, "22C and sunny"))
    emit("tools", name=call.name, args=json.loads(call.arguments),
         follow_up=follow.output_text)

    text = ""
    types = []
    with client.responses.stream(model=model, input="sdk stream 日本", store=False) as s:
        for ev in s:
            types.append(ev.type)
            if ev.type == "response.output_text.delta":
                text += ev.delta
        final = s.get_final_response()
    emit("stream", text=text, final_text=final.output_text, first=types[0], last=types[-1],
         output_tokens=final.usage.output_tokens, input_tokens=final.usage.input_tokens)

    args = ""
    with client.responses.stream(model=model, input=[QUESTION], tools=TOOLS, store=False) as s:
        for ev in s:
            if ev.type == "response.function_call_arguments.delta":
                args += ev.delta
        final = s.get_final_response()
    call = call_of(final)
    follow_text = ""
    with client.responses.stream(model=model, tools=TOOLS, store=False,
                                 input=follow_up_input(final, call, "18C")) as s:
        for ev in s:
            if ev.type == "response.output_text.delta":
                follow_text += ev.delta
    emit("stream_tools", name=call.name, streamed_args=json.loads(args),
         args=json.loads(call.arguments), follow_up=follow_text)


if __name__ == "__main__":
    main()
