"""loom_reader against the real `loom`: a store built by `loom run`, read back and compared
with `loom export`. Runs without pandas (lists of dicts); with pandas, the DataFrames too."""

import csv
import io
import math
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
REPOSITORY = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.dirname(HERE))  # the package as checked out, without pip install

import loom_reader  # noqa: E402

try:
    import pandas  # noqa: F401
    HAS_PANDAS = True
except ImportError:
    HAS_PANDAS = False

# Values a CSV writer gets wrong: a comma, quotes, a line break, a spreadsheet formula, a number as text.
TRICKY = ['a,b', 'say "hi"', "two\nlines", "=1+2", "-3.5", "@x"]


def loom_binary():
    """$LOOM, else the debug then release build in this repository."""
    candidates = [os.environ.get("LOOM", "")] + [os.path.join(REPOSITORY, ".build", c, "loom") for c in ("debug", "release")]
    for candidate in candidates:
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    raise AssertionError("no loom binary in .build/debug or .build/release: run 'swift build' first, or set LOOM=/path/to/loom")


def quoted(value):
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


class ReaderMatchesExport(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.loom = loom_binary()
        cls.scratch = tempfile.mkdtemp(prefix="loom-reader-")
        cls.state = os.path.join(cls.scratch, "state")
        echo = os.path.join(cls.scratch, "echo.yaml")
        with open(echo, "w") as file:
            file.write("name: echoing\ntask: echo\nparams:\n  value: [" + ", ".join(quoted(v) for v in TRICKY) + "]\n")
        steps = os.path.join(cls.scratch, "steps.yaml")
        with open(steps, "w") as file:
            file.write("name: stepping\ntask: steps\nparams: {steps: [2, 4], seconds: 0}\n")
        quickstart = os.path.join(REPOSITORY, "experiments", "quickstart.yaml")
        cls.run_loom(["run", echo, "--workers", "2"])
        cls.run_loom(["run", echo, "--workers", "1"])          # the second time every run is CACHED
        cls.run_loom(["run", steps, "--workers", "2"])
        cls.run_loom(["run", quickstart, "tokens=[1024]", "algorithm=[ring,ulysses]", "repeat=1"])

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.scratch, ignore_errors=True)

    @classmethod
    def run_loom(cls, arguments):
        done = subprocess.run([cls.loom] + arguments + ["--state", cls.state] + (["--quiet", "--no-report"] if arguments[0] == "run" else []),
                              cwd=cls.scratch, capture_output=True, text=True, timeout=300)
        if done.returncode != 0:
            raise AssertionError(f"loom {' '.join(arguments)} exited {done.returncode}: {done.stderr}")
        return done.stdout

    def export(self, *arguments):
        return list(csv.DictReader(io.StringIO(self.run_loom(["export", "--format", "csv"] + list(arguments)), newline="")))

    def assertCellMatches(self, cell, value, where):
        """A CSV cell as `loom export` writes the reader's value."""
        if value is None:
            self.assertEqual(cell, "", where)
        elif isinstance(value, bool):
            self.assertEqual(cell, "true" if value else "false", where)
        elif isinstance(value, (int, float)):
            self.assertTrue(math.isclose(float(cell), value, rel_tol=0, abs_tol=0), f"{where}: {cell!r} vs {value!r}")
        else:
            formula = value[:1] in ("=", "+", "-", "@", "\t", "\r") and not _is_number(value)
            self.assertEqual(cell, "'" + value if formula else value, where)

    def test_runs_match_export(self):
        store = loom_reader.open_store(self.state, frames=False)
        runs = store.runs()
        exported = self.export()
        self.assertEqual(len(runs), len(exported))
        self.assertEqual(list(exported[0].keys()), list(runs[0].keys()), "the same columns in the same order")
        for row, cells in zip(runs, exported):
            for column, value in row.items():
                self.assertCellMatches(cells[column], value, f"run {row['id']} {column}")

    def test_tricky_text_survives_csv(self):
        store = loom_reader.open_store(self.state, frames=False)
        first = [r for r in store.runs(experiment="echoing") if r["status"] == "SUCCEEDED"]
        self.assertEqual([r["param.value"] for r in first], TRICKY)
        self.assertEqual([r["metric.value"] for r in first], TRICKY)
        exported = [r for r in self.export("--experiment", "echoing") if r["status"] == "SUCCEEDED"]
        self.assertEqual([r["metric.value"] for r in exported], ['a,b', 'say "hi"', "two\nlines", "'=1+2", "-3.5", "'@x"])

    def test_cached_and_failed_runs_are_not_counted_as_results(self):
        runs = loom_reader.open_store(self.state, frames=False).runs(experiment="echoing")
        cached = [r for r in runs if r["status"] == "CACHED"]
        self.assertEqual(len(cached), len(TRICKY))
        self.assertTrue(all(not r["succeeded"] and r["cached_from"] is not None and r["metric.value"] is None for r in cached))
        succeeded = loom_reader.open_store(self.state, frames=False).runs(experiment="echoing", succeeded_only=True)
        self.assertEqual(len(succeeded), len(TRICKY))

    def test_latest_keeps_the_last_invocation_only(self):
        store = loom_reader.open_store(self.state, frames=False)
        self.assertEqual(len(store.runs(experiment="echoing")), 2 * len(TRICKY))
        latest = store.runs(experiment="echoing", latest=True)
        self.assertEqual(len(latest), len(TRICKY))
        self.assertTrue(all(r["status"] == "CACHED" for r in latest))
        everything = store.runs(latest=True)
        self.assertEqual(sorted({r["experiment"] for r in everything}), ["echoing", "quickstart", "stepping"])

    def test_parameters_keep_their_types(self):
        runs = loom_reader.open_store(self.state, frames=False).runs(experiment="quickstart")
        self.assertEqual(sorted(r["param.causal"] for r in runs), [False, False, True, True])
        self.assertTrue(all(r["param.tokens"] == 1024 and isinstance(r["metric.gflops"], float) and r["succeeded"] for r in runs))
        cells = self.export("--experiment", "quickstart")
        self.assertEqual(sorted(c["param.causal"] for c in cells), ["false", "false", "true", "true"])

    def test_curves_match_export(self):
        curves = loom_reader.open_store(self.state, frames=False).curves()
        exported = self.export("--curves")
        self.assertEqual(len(curves), 2 + 4)
        self.assertEqual(len(curves), len(exported))
        for point, cells in zip(curves, exported):
            self.assertEqual((str(point["run"]), str(point["step"]), point["metric"]), (cells["run"], cells["step"], cells["metric"]))
            self.assertEqual(float(cells["value"]), point["value"])
        self.assertEqual([p["value"] for p in curves if p["run"] == curves[-1]["run"]], [1.0, 2.0, 3.0, 4.0])

    def test_artifacts_and_experiments(self):
        store = loom_reader.open_store(os.path.join(self.state, "loom.db"), frames=False)
        self.assertEqual(store.experiments(), ["echoing", "quickstart", "stepping"])
        self.assertEqual(store.artifacts(), [])

    def test_a_missing_store_is_a_clear_error(self):
        with self.assertRaisesRegex(loom_reader.StoreError, "no results store"):
            loom_reader.open_store(os.path.join(self.scratch, "nowhere"))

    @unittest.skipUnless(HAS_PANDAS, "pandas is not installed")
    def test_dataframes_match_the_lists(self):
        frames = loom_reader.open_store(self.state, frames=True)
        lists = loom_reader.open_store(self.state, frames=False)
        runs = frames.runs()
        self.assertEqual(list(runs.columns), list(lists.runs()[0].keys()))
        self.assertEqual(len(runs), len(lists.runs()))
        self.assertEqual(frames.curves()["value"].tolist(), [p["value"] for p in lists.curves()])
        # The frame read by pandas from `loom export` holds the same numbers and flags.
        exported = pandas.read_csv(io.StringIO(self.run_loom(["export", "--format", "csv", "--experiment", "quickstart"])))
        quickstart = frames.runs(experiment="quickstart")
        self.assertEqual(exported["succeeded"].tolist(), quickstart["succeeded"].tolist())
        self.assertEqual(exported["param.causal"].tolist(), quickstart["param.causal"].tolist())
        self.assertEqual(exported["metric.gflops"].tolist(), quickstart["metric.gflops"].tolist())
        medians = quickstart[quickstart.succeeded].groupby(["param.algorithm", "param.causal"])["metric.gflops"].median()
        self.assertEqual(len(medians), 4)


def _is_number(text):
    try:
        float(text)
        return True
    except ValueError:
        return False


if __name__ == "__main__":
    unittest.main()
