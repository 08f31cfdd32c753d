"""``python -m modelsign ARGS``: the modelsign command line, run in this process."""

import signal
import sys
from typing import List, Optional

from . import _native


def main(argv: Optional[List[str]] = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    # Behave like the binary: Ctrl-C and a closed pipe end the command at once (Python's
    # own handlers would only act once the library returns).
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    sys.stdout.flush()
    rc = _native.run_cli(["modelsign", *args])
    # A result lost to a full disk or a closed pipe is a failure, not a success.
    closed = _native.close_stdout()
    return rc if rc != 0 or closed == 0 else closed


if __name__ == "__main__":
    sys.exit(main())
