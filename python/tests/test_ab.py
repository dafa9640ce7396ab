"""bench/ab.py: cases named from loom's own JSON (recorded from a real run in tests/data/speed),
ratios paired round by round, bad arguments refused, and a real loom binary run end to end."""
import contextlib
import io
import json
import os
import unittest

from bench_support import bench_script, recorded

ab = bench_script("ab")


class ValuesTests(unittest.TestCase):
    def test_attention_cases_are_named_by_shape_and_pass(self):
        document = recorded("attention")
        values = ab.values_of(document, None)
        self.assertEqual(len(values), len(document["results"]))
        first = document["results"][0]
        name = f"n={first['n']} heads={first['heads']} head_dim={first['head_dim']} causal={first['causal']} pass={first['pass']}"
        self.assertEqual(values[name], first["gflops"])
        # Another field on request.
        self.assertEqual(ab.values_of(document, "ratio")[name], first["ratio"])

    def test_train_compares_tokens_per_second(self):
        document = recorded("train")
        values = ab.values_of(document, None)
        for r in document["results"]:
            self.assertEqual(values[f"layers={r['layers']} d={r['d']} products={r['products']}"], r["tokens_per_s"])

    def test_unknown_benchmark_or_metric_is_refused(self):
        with self.assertRaisesRegex(ValueError, "no case fields"):
            ab.values_of({"benchmark": "wire", "results": []}, None)
        with self.assertRaisesRegex(ValueError, "numeric 'nope'"):
            ab.values_of(recorded("train"), "nope")


class CompareTests(unittest.TestCase):
    def test_ratios_are_paired_within_each_round(self):
        # The machine halves its speed in round 2: B is still 10 % ahead in every round.
        a = [{"x": 100.0}, {"x": 50.0}, {"x": 100.0}]
        b = [{"x": 110.0}, {"x": 55.0}, {"x": 110.0}]
        (row,) = ab.compare(a, b)
        self.assertAlmostEqual(row["ratio_median"], 1.1)
        self.assertAlmostEqual(row["ratio_min"], 1.1)
        self.assertEqual((row["b_ahead"], row["rounds"]), (3, 3))
        self.assertEqual((row["a_median"], row["b_median"]), (100.0, 110.0))

    def test_b_behind_is_counted_as_behind(self):
        (row,) = ab.compare([{"x": 10.0}, {"x": 10.0}], [{"x": 9.0}, {"x": 11.0}])
        self.assertEqual(row["b_ahead"], 1)
        self.assertAlmostEqual(row["ratio_median"], 1.0)
        text = ab.render([row], ("A", "B"))
        self.assertIn("1/2", text)


class ArgumentTests(unittest.TestCase):
    def refused(self, argv):
        with contextlib.redirect_stderr(io.StringIO()) as err, self.assertRaises(SystemExit) as exit:
            ab.main(argv)
        self.assertEqual(exit.exception.code, 2)
        return err.getvalue()

    def test_same_variant_twice_is_refused(self):
        self.assertIn("same binary", self.refused(["--a", "loom", "--", "train"]))

    def test_rounds_are_bounded(self):
        self.assertIn("--rounds", self.refused(["--a", "x", "--b", "y", "--rounds", "100000", "--", "train"]))
        self.assertIn("--rounds", self.refused(["--a", "x", "--b", "y", "--rounds", "0", "--", "train"]))

    def test_a_command_is_needed(self):
        self.assertIn("bench command", self.refused(["--a", "x", "--b", "y"]))

    def test_a_missing_binary_is_a_clear_error(self):
        with contextlib.redirect_stderr(io.StringIO()) as err:
            code = ab.main(["--a", "/nonexistent/loom-a", "--b", "/nonexistent/loom-b", "--rounds", "1", "--", "train"])
        self.assertEqual(code, 1)
        self.assertIn("/nonexistent/loom-", err.getvalue())


@unittest.skipUnless(os.environ.get("LOOM"), "LOOM (a loom binary) is not set")
class EndToEndTests(unittest.TestCase):
    """The real binary: a release build gives a table; a debug build, which refuses --json, gives
    the reason and exit 1 rather than a traceback."""

    def test_two_key_blocks_alternated(self):
        loom = os.environ["LOOM"]
        argv = ["--a", loom, "--a-args", "--key-block 16", "--b-args", "--key-block 32", "--rounds", "2", "--json", "--",
                "attention", "--sizes", "64", "--head-dims", "16", "--heads", "2", "--causal", "no", "--pass", "fwd",
                "--repeat", "1", "--naive-max", "0", "--threads", "1"]
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = ab.main(argv)
        if code == 1:
            self.assertIn("release build", err.getvalue())
            return
        self.assertEqual(code, 0, err.getvalue())
        document = json.loads(out.getvalue())
        (case,) = document["cases"]
        self.assertEqual(case["case"], "n=64 heads=2 head_dim=16 causal=False pass=fwd")
        self.assertEqual(case["rounds"], 2)
        self.assertGreater(case["a_median"], 0)
        self.assertEqual(document["b"][-2:], ["--key-block", "32"])


if __name__ == "__main__":
    unittest.main()
