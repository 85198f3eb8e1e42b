"""`moto_server`, answering one request at a time.

DynamoDB applies a transaction atomically: its conditions hold when its writes land. moto's
server answers requests on threads with no lock around its backends, so two simultaneous
transactions on the same item can both pass their conditions and both write — a lost update
the real service never makes (and, at times, "dictionary changed size during iteration").
Tests of simultaneous deliveries would then test the emulator, not Vouch. Serialising requests
keeps the emulator to DynamoDB's promise; it costs little, since one Python process never ran
them in parallel anyway. Same flags as `moto_server` (-H, -p).
"""

import argparse
import threading

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import run_simple


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, default=5000)
    args = parser.parse_args()

    app = DomainDispatcherApplication(create_backend_app)
    lock = threading.Lock()

    def one_at_a_time(environ, start_response):
        with lock:
            # The whole response is produced under the lock.
            return list(app(environ, start_response))

    run_simple(args.host, args.port, one_at_a_time, threaded=True,
               request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
