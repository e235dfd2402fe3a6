"""Serve a GGUF with llama.cpp's own HTTP server through the `xllamacpp` wheel.

xllamacpp has no command of its own; this launcher sets `CommonParams` and keeps
`xllamacpp.Server(params)` alive until SIGTERM/SIGINT, printing one `ready` line.

    python tests/real/llamacpp_server.py MODEL.gguf [--port 8080] [--alias ID] [--metrics]
"""

from __future__ import annotations

import argparse
import signal
import threading

import xllamacpp


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", help="path of the .gguf file")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--alias", default="SmolLM2-135M-Instruct", help="model id to report")
    parser.add_argument("--ctx", type=int, default=4096, help="context size (n_ctx)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--cors-origins", default="*", help="llama.cpp's CORS origins setting")
    parser.add_argument("--metrics", action="store_true", help="serve GET /metrics, as "
                        "llama-server's --metrics does (off: 501)")
    args = parser.parse_args()

    params = xllamacpp.CommonParams()
    params.model.path = args.model
    params.hostnames = [args.host]
    params.port = args.port
    params.n_ctx = args.ctx
    params.n_parallel = 1
    params.cpuparams.n_threads = args.threads
    params.cpuparams_batch.n_threads = args.threads
    params.model_alias = {args.alias}
    params.cors_origins = args.cors_origins
    params.endpoint_props = True  # GET /props: n_ctx and modalities for discovery
    params.endpoint_metrics = args.metrics

    server = xllamacpp.Server(params)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    print(
        f"ready: llama.cpp (xllamacpp) serving {args.alias} on http://{args.host}:{args.port}",
        flush=True,
    )
    stop.wait()
    del server


if __name__ == "__main__":
    main()
