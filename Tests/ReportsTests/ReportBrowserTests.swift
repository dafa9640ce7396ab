import Foundation
import ProcessTestSupport
import Tasks
import Testing
@testable import Reports

/// The report page as a reader sees it, in a real headless browser (Debian's chromium): it loads
/// without errors, the run table scrolls inside the page's width, and pictures keep a readable size.
@Suite struct ReportBrowserTests {
    static let hostile = ["<script>window.injected = 1</script>\"", "it's \"quoted\" & <b>bold</b>"]

    /// 40 runs with a hostile parameter, 8 plain and 16 per-rank or per-layer metrics, a graph SVG
    /// of 1200 × 400 px, and (with gnuplot) one figure.
    static func render(into directory: TemporaryDirectory) throws -> ReportOutput {
        let svg = directory.path("attention-graph.svg")
        try Data(("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"1200\" height=\"400\" viewBox=\"0 0 1200 400\">"
                  + "<rect width=\"1200\" height=\"400\" fill=\"#eef\"/><text x=\"20\" y=\"60\" font-size=\"16\">query 3 → key 0</text></svg>").utf8)
            .write(to: URL(fileURLWithPath: svg))
        let runs = (0..<40).map { i in
            var metrics: [String: ParameterValue] = ["gflops": .double(Double((i * 37) % 101) + 0.5)]
            for name in ["wall_s", "compute_s", "send_s", "wait_s", "bytes_sent", "bytes_received", "compute_fraction"] {
                metrics[name] = .double(Double(i) / 7 + Double(name.count))
            }
            for rank in 1...2 { for step in 0..<4 { metrics["rank\(rank).step\(step).compute_s"] = .double(Double(rank * step) / 3) } }
            for head in 0..<8 { metrics["L0.H\(head).attn_sink"] = .double(Double(head) / 8) }
            return ReportData.Run(id: Int64(i + 1), index: i, repetition: 0, status: .succeeded,
                                  params: ["n": .int(64 << (i % 5)), "label": .string(hostile[i % 2]), "heads": .int(8)],
                                  metrics: metrics, metricsSource: nil, artifacts: i == 0 ? [svg] : [])
        }
        let data = ReportData(experiment: "browser", description: "the page in chromium", file: "browser.yaml", invocation: 1,
                              runs: runs, provenance: [("command", "loom run browser.yaml")])
        let spec = ReportSpec(figures: gnuplotIsInstalled ? [FigureSpec(name: "speed", x: "n", y: "gflops", logX: true, title: "speed")] : [])
        return try Report.render(data, spec: spec, to: directory.url.appendingPathComponent("report"))
    }

    /// Measures the table and the pictures, sorts by gflops, then shows the detail columns.
    static let probe = """
        var box = document.querySelector('.table-scroll'), rect = box.getBoundingClientRect();
        var names = Array.prototype.slice.call(document.querySelectorAll('table.runs tr.names th'));
        function visible() { return names.filter(function (th) { return getComputedStyle(th).display !== 'none'; }).length; }
        var hidden = visible(), column = names.findIndex(function (th) { return th.textContent === 'gflops'; });
        names[column].click();
        var sorted = Array.prototype.map.call(document.querySelectorAll('table.runs tbody tr'), function (row) { return Number(row.cells[column].textContent); });
        box.scrollTop = 300;
        var headerTop = names[0].getBoundingClientRect().top - box.getBoundingClientRect().top;
        document.getElementById('show-detail').click();
        var labels = Array.prototype.map.call(document.querySelectorAll('table.runs tbody td'), function (td) { return td.textContent; });
        return {
          innerWidth: window.innerWidth, pageWidth: document.documentElement.scrollWidth,
          boxLeft: rect.left, boxRight: rect.right, boxScrolls: box.scrollWidth > box.clientWidth,
          hidden: hidden, shown: visible(), sorted: sorted, headerTop: headerTop, injected: window.injected === 1,
          hostileShown: labels.filter(function (text) { return text.indexOf('<script>') === 0 || text.indexOf("it's") === 0; }).length,
          pictures: Array.prototype.map.call(document.querySelectorAll('.picture img'), function (img) {
            return {src: img.getAttribute('src'), natural: img.naturalWidth, width: img.getBoundingClientRect().width,
                    boxRight: img.parentNode.getBoundingClientRect().right};
          })
        };
        """

    @Test func thePageLoadsWithoutErrorsTheTableScrollsInsideAndPicturesStayReadable() throws {
        let chromium = try HeadlessChromium()               // missing: fails, saying 'make deps' installs it
        let directory = try TemporaryDirectory()
        let output = try ReportBrowserTests.render(into: directory)
        let html = try String(contentsOf: output.indexHTML, encoding: .utf8)
        #expect(!html.contains("http:") && !html.contains("https:") && !html.contains("=\"//"), "nothing is loaded from elsewhere")
        for width in [1280, 700] {
            let result = try chromium.check(page: output.indexHTML, probe: ReportBrowserTests.probe, width: width)
            let probe = result.probe
            #expect(result.console.isEmpty, "console at \(width) px: \(result.console)")
            #expect((probe["errors"] as? [Any])?.isEmpty == true, "uncaught errors at \(width) px: \(probe)")
            #expect(probe["probeFailed"] == nil, "\(probe)")
            let inner = try #require(probe["innerWidth"] as? Double)
            #expect(inner == Double(width))
            #expect(try #require(probe["pageWidth"] as? Double) <= inner, "the page itself never scrolls sideways at \(width) px")
            #expect(try #require(probe["boxLeft"] as? Double) >= 0 && (probe["boxRight"] as? Double ?? .infinity) <= inner,
                    "the table's scroll box fits the window at \(width) px: \(probe)")
            #expect(probe["boxScrolls"] as? Bool == true, "the wide table scrolls inside its box")
            // run, status, the varying n and label, gflops (figure or not), 7 others; 16 detail hidden.
            #expect(probe["hidden"] as? Double == 12, "\(probe)")
            #expect(probe["shown"] as? Double == 28, "the toggle shows the 16 detail columns: \(probe)")
            let sorted = try #require(probe["sorted"] as? [Double])
            #expect(sorted.count == 40 && sorted == sorted.sorted(), "gflops sorts as numbers: \(sorted)")
            #expect(try #require(probe["headerTop"] as? Double) < 40, "the header stays in view while the table scrolls")
            #expect(probe["injected"] as? Bool == false, "a parameter value never runs")
            #expect(probe["hostileShown"] as? Double == 40, "each hostile value is shown as written")
            let pictures = try #require(probe["pictures"] as? [[String: Any]])
            #expect(pictures.count == (gnuplotIsInstalled ? 2 : 1))
            for picture in pictures {
                let natural = try #require(picture["natural"] as? Double), shown = try #require(picture["width"] as? Double)
                #expect(natural > 0, "\(picture) loaded")
                #expect(shown >= 0.75 * natural - 1, "\(picture) is shown at ≥ 3/4 of its size at \(width) px")
                #expect(try #require(picture["boxRight"] as? Double) <= inner, "a wide picture scrolls in its own box")
            }
        }
    }
    @Test func theSortTheToggleAndTheScrollSurviveTheLivePagesReload() throws {
        let chromium = try HeadlessChromium()
        let directory = try TemporaryDirectory()
        let output = try ReportBrowserTests.render(into: directory)
        // First load: sort by gflops descending, show the details, scroll, reload. Second: report.
        let probe = """
            var names = Array.prototype.slice.call(document.querySelectorAll('table.runs tr.names th'));
            var column = names.findIndex(function (th) { return th.textContent === 'gflops'; });
            var box = document.querySelector('.table-scroll');
            if (sessionStorage.getItem('probe-reloaded') !== '1') {
              names[column].click(); names[column].click();
              document.getElementById('show-detail').click();
              box.scrollTop = 120;
              // The scroll event waits for a frame, and a reload can come first: 'pagehide' keeps it.
              window.dispatchEvent(new Event('pagehide'));
              var kept = JSON.parse(sessionStorage.getItem('loom-report:' + location.pathname) || '{}').scroll;
              sessionStorage.setItem('probe-kept', JSON.stringify(kept || null));
              sessionStorage.setItem('probe-reloaded', '1');
              location.reload();
              return {reloaded: false};
            }
            var first = Number(document.querySelector('table.runs tbody tr').cells[column].textContent);
            return {reloaded: true, sort: names[column].getAttribute('aria-sort'), detail: document.getElementById('show-detail').checked,
                    first: first, scrollTop: box.scrollTop, keptAtHide: JSON.parse(sessionStorage.getItem('probe-kept'))};
            """
        let result = try chromium.check(page: output.indexHTML, probe: probe)
        #expect(result.probe["reloaded"] as? Bool == true, "\(result.probe)")
        #expect(result.probe["sort"] as? String == "descending" && result.probe["detail"] as? Bool == true, "\(result.probe)")
        #expect(result.probe["first"] as? Double == 100.5, "the largest gflops first: \(result.probe)")
        #expect((result.probe["scrollTop"] as? Double ?? 0) > 100, "\(result.probe)")
        #expect(result.probe["keptAtHide"] as? [Double] == [0, 120], "the scroll is kept when the page hides: \(result.probe)")
        #expect(result.console.isEmpty, "\(result.console)")
    }

    /// The visible run table columns and the pictures of a real report, seen at 1280 × 900.
    static let visibleProbe = """
        var box = document.querySelector('.table-scroll'), rect = box.getBoundingClientRect();
        var names = Array.prototype.filter.call(document.querySelectorAll('table.runs tr.names th'), function (th) {
          return getComputedStyle(th).display !== 'none';
        }).map(function (th) { return th.textContent; });
        return {
          innerWidth: window.innerWidth, pageWidth: document.documentElement.scrollWidth, boxRight: rect.right, columns: names,
          pictures: Array.prototype.map.call(document.querySelectorAll('.picture img'), function (img) {
            return {src: img.getAttribute('src'), ratio: img.getBoundingClientRect().width / img.naturalWidth};
          }),
          headings: Array.prototype.map.call(document.querySelectorAll('h2'), function (h) { return h.textContent; })
        };
        """

    /// Checks a real report page in chromium: no console errors, the table box and the page
    /// within the window, every picture loaded at ≥ 3/4 of its size.
    /// - Returns: the visible column names of the run table and the page's headings.
    static func checkRealReport(_ index: URL) throws -> (columns: [String], headings: [String]) {
        let result = try HeadlessChromium().check(page: index, probe: visibleProbe)
        let probe = result.probe
        #expect(result.console.isEmpty && (probe["errors"] as? [Any])?.isEmpty == true, "\(result.console) \(probe)")
        let inner = try #require(probe["innerWidth"] as? Double)
        #expect((probe["pageWidth"] as? Double ?? .infinity) <= inner && (probe["boxRight"] as? Double ?? .infinity) <= inner, "\(probe)")
        for picture in try #require(probe["pictures"] as? [[String: Any]]) {
            #expect((picture["ratio"] as? Double ?? 0) >= 0.75 - 0.01, "\(picture)")
        }
        return (try #require(probe["columns"] as? [String]), try #require(probe["headings"] as? [String]))
    }
}
