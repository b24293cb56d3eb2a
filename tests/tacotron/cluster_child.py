"""A stand-in for the training process under tacotron.cli.supervise: ends as argv[1] says (an exit code; "abort" or
"joined-abort", after telling the supervisor it joined; or "term": wait for SIGTERM and exit 143 on it), after
writing a line to stdout."""

import os
import signal
import sys
import time

if __name__ == "__main__":
    how = sys.argv[1]
    print("child", flush=True)
    if how == "joined-abort":
        os.write(int(os.environ["TACOTRON_CLUSTER_MEMBER"]), b"joined")
        os.abort()
    if how == "abort":
        os.abort()
    if how == "term":
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
        time.sleep(60)
    sys.exit(int(how))
