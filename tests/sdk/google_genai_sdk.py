"""Drives the gateway's Gemini-native API with the official google-genai SDK; prints one
JSON line per check.

Usage: python google_genai_sdk.py BASE_URL API_KEY MODEL EMBED_MODEL|- API_VERSION
"""
import json
import sys

from google import genai
from google.genai import errors, types

WEATHER = types.FunctionDeclaration(
    name="get_weather",
    description="Weather in a city",
    parameters=types.Schema(
        type=types.Type.OBJECT,
        properties={
            "city": types.Schema(type=types.Type.STRING),
            "unit": types.Schema(type=types.Type.STRING),
        },
        required=["city"],
    ),
)


def show(check, **fields):
    print(json.dumps({"check": check, **fields}), flush=True)


def usage(u):
    return {
        "prompt": u.prompt_token_count if u else None,
        "candidates": u.candidates_token_count if u else None,
        "total": u.total_token_count if u else None,
    }


def main() -> None:
    base_url, key, model, embed_model, version = sys.argv[1:6]
    client = genai.Client(
        api_key=key,
        http_options=types.HttpOptions(base_url=base_url, api_version=version, timeout=60_000),
    )

    r = client.models.generate_content(
        model=model,
        contents="sdk generate é",
        config=types.GenerateContentConfig(
            system_instruction="Be brief.", temperature=0.2, max_output_tokens=64
        ),
    )
    show("generate", text=r.text, finish_reason=str(r.candidates[0].finish_reason.name),
         **usage(r.usage_metadata))

    text, last = "", None
    for chunk in client.models.generate_content_stream(model=model, contents="sdk stream 日本"):
        text += chunk.text or ""
        last = chunk
    show("stream", text=text,
         finish_reason=str(last.candidates[0].finish_reason.name) if last.candidates else None,
         **usage(last.usage_metadata))

    count = client.models.count_tokens(model=model, contents="count these tokens please")
    show("count_tokens", total=count.total_tokens)

    tools = [types.Tool(function_declarations=[WEATHER])]
    config = types.GenerateContentConfig(
        tools=tools,
        automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),
    )
    question = types.Content(role="user", parts=[types.Part.from_text(text="weather in Paris?")])
    first = client.models.generate_content(model=model, contents=[question], config=config)
    call = first.function_calls[0]
    reply = types.Part.from_function_response(name=call.name, response={"output": "sunny"})
    reply.function_response.id = call.id
    follow = client.models.generate_content(
        model=model,
        contents=[question, first.candidates[0].content, types.Content(role="user", parts=[reply])],
        config=config,
    )
    show("tools", name=call.name, args=call.args, follow_up=follow.text)

    # Automatic function calling: the SDK runs the Python function and sends its result.
    calls = []

    def get_weather(city: str, unit: str = "celsius") -> dict:
        """Weather in a city."""
        calls.append([city, unit])
        return {"forecast": f"sunny in {city}"}

    auto = client.models.generate_content(
        model=model,
        contents="weather in Paris, automatically?",
        config=types.GenerateContentConfig(tools=[get_weather]),
    )
    show("auto_tools", calls=calls, text=auto.text)

    if embed_model != "-":
        e = client.models.embed_content(model=embed_model, contents=["first text", "second text"])
        show("embed", count=len(e.embeddings), dims=len(e.embeddings[0].values))

    names = [m.name for m in client.models.list()]
    one = client.models.get(model=model)
    show("models", names=names, get=one.name)

    try:
        client.models.generate_content(model="no-such-model", contents="x")
        show("error", raised=None)
    except errors.APIError as err:
        show("error", raised=type(err).__name__, code=err.code, status=err.status)


if __name__ == "__main__":
    main()
