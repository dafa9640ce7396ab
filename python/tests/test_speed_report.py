"""bench/speed_report.py: goals marked from loom's own JSON (recorded from a real run in
tests/data/speed), text from the machine kept literal in Markdown, a slowed machine named."""
import copy
import unittest

from bench_support import bench_script, recorded

speed_report = bench_script("speed_report")


class SpeedReportTests(unittest.TestCase):
    def setUp(self):
        self.attention, self.train, self.fusions = recorded("attention"), recorded("train"), recorded("fusions")

    def test_every_goal_is_marked_against_its_own_value(self):
        text, counts = speed_report.report(self.attention, self.train, self.fusions)
        expected = {"met": 0, "short": 0, "open": 0}
        for r in self.attention["results"]:
            for value, goal in ((r["ratio"], speed_report.ATTENTION_GOALS[r["pass"]]),
                                (r["ratio_torch"], speed_report.TORCH_ATTENTION_GOAL)):
                expected["met" if value >= goal else "short"] += 1
        for r in self.train["results"]:
            torch_goal, peak_goal = speed_report.TRAIN_GOALS[r["d"]]
            expected["met" if r["ratio_torch"] >= torch_goal else "short"] += 1
            expected["met" if r["fraction_of_peak"] >= peak_goal else "short"] += 1
            self.assertIn(f"| {r['layers']} | {r['d']} | {r['tokens_per_s']:,.0f} |", text)
        self.assertEqual(counts, expected)
        self.assertEqual(sum(counts.values()), 2 * len(self.attention["results"]) + 2 * len(self.train["results"]))
        self.assertIn(f"Goals: {counts['met']} met, {counts['short']} short, 0 open.", text)
        # One row per fusion configuration, the baseline without a change.
        self.assertEqual(text.count("| all fused | "), 1)
        self.assertEqual(len([line for line in text.splitlines() if line.startswith("| 1 | 64 | ")]),
                         len(self.fusions["results"]) + 1)

    def test_without_torch_its_goals_stay_open(self):
        for r in self.attention["results"] + self.train["results"]:
            r.pop("ratio_torch", None)
        self.train["torch"], self.train["torch_note"] = None, "torch is not importable"
        self.attention["torch"] = None
        text, counts = speed_report.report(self.attention, self.train, self.fusions)
        self.assertEqual(counts["open"], len(self.attention["results"]) + len(self.train["results"]))
        self.assertIn("PyTorch: not compared: torch is not importable", text)
        self.train["torch_note"] = None
        text, _ = speed_report.report(self.attention, self.train, self.fusions)
        self.assertIn("PyTorch: not compared: torch is not importable here (pip install torch, or --python PATH)", text)

    def test_machine_text_stays_literal_markdown(self):
        hostile = "EPYC | x <script>alert(1)</script> `code` *b* _i_ [l](http://e) ~s~ \\ &amp;\n# heading\x1b[31m"
        self.train["cpu"] = hostile
        text, _ = speed_report.report(self.attention, self.train, self.fusions)
        line = next(line for line in text.splitlines() if line.startswith("- CPU: "))
        self.assertNotIn("<script>", text)
        self.assertIn("&lt;script&gt;", line)
        i = len("- CPU: ")
        while i < len(line):   # every metacharacter after a backslash that escapes it
            if line[i] == "\\":
                i += 2
                continue
            self.assertNotIn(line[i], "|`*_[]~", f"unescaped at {i}: {line}")
            i += 1
        self.assertNotIn("\x1b", text)
        self.assertFalse(any(l.startswith("# heading") for l in text.splitlines()), "a newline in the CPU name made a heading")
        self.assertIn("&amp;amp;", line)

    def test_a_preview_of_the_avx2_path_says_what_it_is(self):
        text, _ = speed_report.report(self.attention, self.train, self.fusions, avx2=True)
        self.assertIn("a preview of the AVX2 path, not a measurement of an AVX2-only machine", text)
        self.assertEqual(speed_report.AVX2_ENVIRONMENT["LOOM_KERNEL"], "avx2")
        self.assertEqual(speed_report.AVX2_ENVIRONMENT["ATEN_CPU_CAPABILITY"], "avx2")

    def test_a_pinned_narrow_openblas_core_is_dropped_and_named(self):
        saved = dict(speed_report.os.environ)
        has_avx512 = speed_report.cpu_has_avx512
        try:
            speed_report.cpu_has_avx512 = lambda: True
            speed_report.os.environ["OPENBLAS_CORETYPE"] = "Haswell"
            speed_report.os.environ.pop("LOOM_KERNEL", None)
            environment, dropped = speed_report.sitting_environment(avx2=False)
            self.assertNotIn("OPENBLAS_CORETYPE", environment)
            self.assertIn("OPENBLAS_CORETYPE=Haswell in the environment was dropped", dropped)
            # The AVX2 preview keeps every side on AVX2; an AVX-512 pin and an AVX2-only CPU are left alone.
            environment, dropped = speed_report.sitting_environment(avx2=True)
            self.assertEqual((environment["OPENBLAS_CORETYPE"], dropped), ("Haswell", None))
            speed_report.os.environ["OPENBLAS_CORETYPE"] = "SkylakeX"
            self.assertEqual(speed_report.sitting_environment(avx2=False), (None, None))
            speed_report.os.environ["OPENBLAS_CORETYPE"] = "Haswell"
            speed_report.os.environ["LOOM_KERNEL"] = "avx2"
            self.assertEqual(speed_report.sitting_environment(avx2=False), (None, None))
            speed_report.os.environ.pop("LOOM_KERNEL")
            speed_report.cpu_has_avx512 = lambda: False
            self.assertEqual(speed_report.sitting_environment(avx2=False), (None, None))
        finally:
            speed_report.cpu_has_avx512 = has_avx512
            speed_report.os.environ.clear()
            speed_report.os.environ.update(saved)
        text, _ = speed_report.report(self.attention, self.train, self.fusions, dropped="OPENBLAS_CORETYPE=Haswell <x> was dropped")
        self.assertIn("(OPENBLAS\\_CORETYPE=Haswell &lt;x&gt; was dropped)", text)
        self.assertNotIn("- Warning:", text)
        self.train["baseline_warning"] = "OPENBLAS_CORETYPE=Zen pins OpenBLAS"
        text, _ = speed_report.report(self.attention, self.train, self.fusions)
        self.assertIn("- Warning: OPENBLAS\\_CORETYPE=Zen pins OpenBLAS", text)

    def test_a_forced_narrower_tile_names_the_faster_ones_peak(self):
        text, _ = speed_report.report(self.attention, self.train, self.fusions)
        self.assertNotIn("this CPU's", text)
        self.train.update({"peak_tile": "avx2", "fastest_tile": "avx512", "peak_gflops": 250.0, "fastest_tile_peak_gflops": 500.0})
        text, _ = speed_report.report(self.attention, self.train, self.fusions, avx2=True)
        self.assertIn("The peak is that of the avx2 tile the products ran on, 250.0 GFLOP/s, as on a machine without a "
                      "faster one; this CPU's avx512 tile reached 500.0 (2.00× it).", text)

    def test_a_slowed_machine_is_named(self):
        text, _ = speed_report.report(self.attention, self.train, self.fusions)
        self.assertNotIn("Slowed machine", text)
        slowed = copy.deepcopy(self.train)
        slowed["peak_together_gflops"] = [0.5 * slowed["peak_gflops"], slowed["peak_gflops"]]
        text, _ = speed_report.report(self.attention, slowed, self.fusions)
        self.assertIn("**Slowed machine**: the tile on all cores at once ran at 0.50 of the peak", text)

    def test_a_fraction_short_of_peak_but_met_beside_asks_for_another_run(self):
        rows = self.train["results"]
        goal = speed_report.TRAIN_GOALS[rows[0]["d"]][1]
        rows[0]["fraction_of_peak"], rows[0]["fraction_of_peak_beside"] = goal - 0.1, goal + 0.05
        rows[1]["fraction_of_peak"], rows[1]["fraction_of_peak_beside"] = 0.1, 0.2   # short either way
        text, counts = speed_report.report(self.attention, self.train, self.fusions)
        name = f"{rows[0]['layers']}x{rows[0]['d']}"
        self.assertIn(f"Short of peak but met beside ({name}): ", text)
        self.assertNotIn(f"{rows[1]['layers']}x{rows[1]['d']}", text.split("Short of peak but met beside")[1].split(")")[0])
        self.assertIn(f"| {goal - 0.1:.2f} | short (goal {goal}) | {goal + 0.05:.2f} |", text)
        # The goal stays on the fraction of the fastest peak.
        self.assertGreaterEqual(counts["short"], 2)
        for r in rows:
            r["fraction_of_peak_beside"] = None
        text, _ = speed_report.report(self.attention, self.train, self.fusions)
        self.assertNotIn("Short of peak but met beside", text)

    def test_goals_are_judged_turn_by_turn_where_the_turns_are_given(self):
        r = self.attention["results"][0]
        goal = speed_report.ATTENTION_GOALS[r["pass"]]
        r["ratio"] = goal + 0.01
        r["ratio_turns"] = {"median": goal + 0.02, "min": goal - 0.2, "max": goal + 0.1, "turns": 5,
                            "values": [goal - 0.2, goal - 0.05, goal + 0.02, goal + 0.05, goal + 0.1]}
        t = self.train["results"][0]
        torch_goal = speed_report.TRAIN_GOALS[t["d"]][0]
        t["ratio_torch"] = torch_goal - 0.01
        t["ratio_torch_turns"] = {"values": [torch_goal - 0.3, torch_goal + 0.2, torch_goal - 0.01]}
        text, counts = speed_report.report(self.attention, self.train, self.fusions)
        self.assertIn(f"| {goal + 0.01:.2f} [{goal - 0.2:.2f}–{goal + 0.1:.2f}] | "
                      f"met (goal {goal:g}; median turn {goal + 0.02:.2f}, 3/5 turns) |", text)
        self.assertIn(f"| {torch_goal - 0.01:.2f} [{torch_goal - 0.3:.2f}–{torch_goal + 0.2:.2f}] | "
                      f"short (goal {torch_goal:g}; median turn {torch_goal - 0.01:.2f}, 1/3 turns) |", text)
        self.assertIn("a verdict whose turns straddle the goal can flip", text)
        plain, plain_counts = speed_report.report(recorded("attention"), recorded("train"), self.fusions)
        self.assertEqual(counts["met"] + counts["short"], plain_counts["met"] + plain_counts["short"])
        # The median turn decides, not the ratio of the medians: here they fall either side of the goal.
        r["ratio"] = goal + 0.01
        r["ratio_turns"] = {"values": [goal - 0.1, goal - 0.05, goal - 0.02, goal + 0.1, goal + 0.2]}
        text, counts_after = speed_report.report(self.attention, self.train, self.fusions)
        self.assertIn(f"short (goal {goal:g}; median turn {goal - 0.02:.2f}, 2/5 turns)", text)
        self.assertEqual(counts_after["short"], counts["short"] + 1)
        # Malformed turns from a hand-edited file are ignored, not trusted.
        r["ratio_turns"] = {"values": "0.9"}
        t["ratio_torch_turns"] = ["x"]
        text, _ = speed_report.report(self.attention, self.train, self.fusions)
        self.assertIn(f"| {goal + 0.01:.2f} | met (goal {goal:g}) |", text)

    def test_the_turn_order_is_checked_where_the_turns_are_given(self):
        for r in self.attention["results"]:
            r["ratio_turns"] = {"values": [0.80, 0.88, 0.80, 0.88]}     # Loom last: 10 % higher
            r["ratio_torch_turns"] = {"values": [1.0, 1.0, 1.0]}
        self.attention["results"][0]["ratio_torch_turns"] = {"values": [1.0, "x"]}  # malformed: skipped
        for t in self.train["results"]:
            t["ratio_torch_turns"] = {"values": [2.0]}                  # one turn: no order to compare
        text, _ = speed_report.report(self.attention, self.train, self.fusions)
        cases = len(self.attention["results"])
        self.assertIn(f"| attention vs sgemm | 1.100 | 1.100–1.100 | {cases} |", text)
        self.assertIn(f"| attention vs PyTorch | 1.000 | 1.000–1.000 | {cases - 1} |", text)
        self.assertNotIn("| training vs PyTorch |", text)
        # Without turns (an older loom's JSON) there is no such section.
        plain, _ = speed_report.report(recorded("attention"), recorded("train"), self.fusions)
        self.assertNotIn("## Turn order", plain)

    def test_each_product_is_listed_against_sgemm_and_the_tile_without_a_goal(self):
        gemm = recorded("gemm")
        text, counts = speed_report.report(self.attention, self.train, self.fusions, gemm=[gemm])
        _, without = speed_report.report(self.attention, self.train, self.fusions)
        self.assertEqual(counts, without)                  # informational: no goal counted
        self.assertIn("## Each product of a step, one thread", text)
        rows = [line for line in text.splitlines() if line.startswith(f"| {gemm['d']} | ")]
        self.assertEqual(len(rows), len(gemm["results"]))
        first = gemm["results"][0]
        self.assertIn(f"| {first['name']} | {first['op']} | {first['m']} × {first['n']} × {first['k']} |", rows[0])
        self.assertTrue(rows[0].endswith(f"| {first['of_tile']:.2f} |"), rows[0])
        self.assertNotIn("## Each product", without)
        hostile = copy.deepcopy(gemm)
        hostile["results"][0]["name"] = "dW|<b>*x*</b>"
        text, _ = speed_report.report(self.attention, self.train, self.fusions, gemm=[hostile])
        self.assertIn("dW\\|&lt;b&gt;\\*x\\*&lt;/b&gt;", text)
        self.assertNotIn("<b>", text)

    def test_the_benchmarks_run_as_argument_lists(self):
        for quick in (False, True):
            for argv in speed_report.commands("/opt/loom", "/usr/bin/python3", quick).values():
                self.assertTrue(all(isinstance(a, str) for a in argv))
                self.assertEqual(argv[0], "/opt/loom")
                self.assertIn("--json", argv)
        full = speed_report.commands("/opt/loom", "/usr/bin/python3", False)
        self.assertIn("8192", full["attention"])
        self.assertIn("1x64,3x64,1x256", full["train"])
        self.assertEqual(full["gemm64"][2:5], ["gemm", "--d", "64"])
        self.assertEqual(full["gemm256"][2:5], ["gemm", "--d", "256"])
        self.assertNotIn("--compare-torch", speed_report.commands("/opt/loom", None, False)["train"])


if __name__ == "__main__":
    unittest.main()
