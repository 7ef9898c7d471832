"""Drives the gateway with the official openai SDK; prints one JSON line per check.

Usage: python openai_sdk.py BASE_URL API_KEY MODEL EMBEDDING_MODEL
"""
import json
import sys

from openai import OpenAI


def main() -> None:
    base_url, key, model, embedding_model = sys.argv[1:5]
    client = OpenAI(base_url=base_url, api_key=key, max_retries=0, timeout=60)

    chat = client.chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": "sdk chat"}],
        max_tokens=16,
    )
    print(json.dumps({
        "check": "chat",
        "content": chat.choices[0].message.content,
        "prompt_tokens": chat.usage.prompt_tokens if chat.usage else None,
    }))

    text = ""
    usage = None
    stream = client.chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": "sdk stream"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    for chunk in stream:
        for choice in chunk.choices:
            text += choice.delta.content or ""
        if chunk.usage:
            usage = chunk.usage.completion_tokens
    print(json.dumps({"check": "stream", "content": text, "completion_tokens": usage}))

    emb = client.embeddings.create(model=embedding_model, input=["one", "two"])
    print(json.dumps({
        "check": "embeddings",
        "count": len(emb.data),
        "dims": len(emb.data[0].embedding),
    }))

    try:
        client.chat.completions.create(
            model="no-such-model", messages=[{"role": "user", "content": "x"}]
        )
        print(json.dumps({"check": "error", "raised": None}))
    except Exception as e:  # noqa: BLE001 - the class name is what we report
        print(json.dumps({
            "check": "error",
            "raised": type(e).__name__,
            "status": getattr(e, "status_code", None),
        }))


if __name__ == "__main__":
    main()
