import Foundation
import Notebooks
import ProcessTestSupport
import Testing

/// The rendered page in a real headless browser (Debian's chromium): it loads without console
/// errors, every figure and graph is displayed at a non-zero size, and every link resolves.
@Suite(.serialized) struct NotebookBrowserTests {
    @Test func theRenderedPageLoadsWithEveryFigureShownAndEveryLinkResolving() throws {
        let chromium = try HeadlessChromium()               // missing: fails, saying 'make deps' installs it
        let fixture = try NotebookRendererTests.Fixture()
        let text = NotebookRendererTests.notebook() + """


            See @tbl-beta and the [top](#fig-alpha); a [bad link](javascript:alert(1)) is not a link.

            ```{dot}
            #| label: fig-graph
            #| caption: A graph.
            digraph { "<b>" -> "it's \\"quoted\\"" }
            ```
            """
        let outcome = try fixture.render(text)
        #expect(outcome.failures.isEmpty, "\(outcome.failures)")
        let html = fixture.html
        #expect(!html.contains("http:") && !html.contains("https:") && !html.contains("javascript:"), "nothing is loaded from elsewhere")
        let probe = """
            var images = Array.prototype.slice.call(document.images);
            var links = Array.prototype.slice.call(document.querySelectorAll('a[href]'));
            return {
              images: images.length,
              shown: images.filter(function (i) { return i.complete && i.naturalWidth > 0 && i.getBoundingClientRect().width > 0; }).length,
              links: links.length,
              resolved: links.filter(function (a) {
                var href = a.getAttribute('href');
                return href.charAt(0) === '#' ? document.getElementById(href.slice(1)) !== null : false;
              }).length,
              captions: Array.prototype.slice.call(document.querySelectorAll('figcaption')).map(function (c) { return c.textContent; })
            };
            """
        let result = try chromium.check(page: fixture.out.appendingPathComponent("index.html"), probe: probe)
        #expect(result.console.isEmpty, "console: \(result.console)")
        #expect((result.probe["errors"] as? [Any])?.isEmpty == true, "\(result.probe)")
        #expect(result.probe["images"] as? Double == 2 && result.probe["shown"] as? Double == 2, "every figure is displayed: \(result.probe)")
        #expect((result.probe["links"] as? Double ?? 0) >= 3 && result.probe["resolved"] as? Double == result.probe["links"] as? Double,
                "every link resolves: \(result.probe)")
        // The PDF of the whole notebook: printed by the same browser, one page or more, not blank.
        let pdfOutcome = try NotebookRenderer(notebook: try NotebookParser.parse(text, file: "nb.md"), directory: fixture.out,
                                              storePath: fixture.store).render(.init(pdf: true))
        let pdf = try #require(pdfOutcome.pdf, "\(pdfOutcome.pdfNote ?? "")")
        let info = try LoomProcess.run([pdf.path], program: URL(fileURLWithPath: "/usr/bin/pdfinfo"))
        #expect(info.status == 0 && info.standardOutput.contains("Pages:"), "\(info)")
        let png = fixture.scratch.path("page")
        let pages = try LoomProcess.run(["-png", "-r", "40", "-f", "1", "-l", "1", pdf.path, png],
                                        program: URL(fileURLWithPath: "/usr/bin/pdftoppm"))
        #expect(pages.status == 0, "\(pages)")
        let files = try FileManager.default.contentsOfDirectory(atPath: fixture.scratch.url.path).filter { $0.hasPrefix("page") && $0.hasSuffix(".png") }
        let size = files.first.flatMap { try? FileManager.default.attributesOfItem(atPath: fixture.scratch.path($0))[.size] as? Int } ?? 0
        #expect(size > 2000, "page 1 rendered to a picture with content: \(files) \(size) bytes")
        // Unchanged, the page is not printed again.
        let again = try NotebookRenderer(notebook: try NotebookParser.parse(text, file: "nb.md"), directory: fixture.out,
                                         storePath: fixture.store).render(.init(pdf: true))
        #expect(again.pdf == pdf && again.executed.isEmpty)
        let captions = result.probe["captions"] as? [String] ?? []
        #expect(captions.contains("Figure 1: Alpha's sleeps <script>alert(1)</script>") && captions.contains("Figure 2: A graph.")
                && captions.contains("Table 1"), "numbered captions, shown as text: \(captions)")
    }
}
