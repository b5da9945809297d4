"""The kasuhara command line, recording each attempt to import pandas: `python record_pandas.py LOG ARGS...`.

No command uses pandas, and pyarrow imports it (0.2-0.3 s) on the first Python value a process
converts (kasuhara_metrics/common/arrays.py). The stack of the attempt is appended to LOG, for the
test to show where it came from.
"""

import sys
import traceback
from importlib.abc import MetaPathFinder


class PandasRecorder(MetaPathFinder):
    def __init__(self, log: str) -> None:
        self.log = log

    def find_spec(self, name, path=None, target=None):
        if name == "pandas":
            with open(self.log, "a", encoding="utf-8") as out:
                out.write(f"kasuhara {' '.join(sys.argv[1:])}\n{''.join(traceback.format_stack(limit=10))}\n")
        return None  # the import goes on: the command's own behaviour is unchanged


sys.meta_path.insert(0, PandasRecorder(sys.argv.pop(1)))

from kasuhara_metrics.cli import main  # noqa: E402 (after the recorder, which must see every import)

main(prog_name="kasuhara")
