import Tasks

extension RunTable {
    /// The table for `index.html`: the fixed values as one line each, a checkbox that shows the
    /// detail columns (CSS only, so the page works without script), and the table in its own
    /// scroll container with a sticky header; `script` makes the columns sortable. A declared
    /// metric's header says its label and unit on hover.
    func html(metrics: MetricCatalog = MetricCatalog()) -> String {
        var parts: [String] = []
        let lists = [("Fixed parameters", fixed), ("Same in every run", sameInEveryRun)]
        for (label, pairs) in lists where !pairs.isEmpty {
            parts.append("<p class=\"fixed\"><span class=\"label\">\(label):</span> "
                         + pairs.map { "<code>\(e($0.name)) = \(e($0.value))</code>" }.joined(separator: " · ") + "</p>")
        }
        let details = count(.detail)
        if details > 0 {
            parts.append("<input type=\"checkbox\" id=\"show-detail\" class=\"toggle\">"
                         + "<label for=\"show-detail\">show the \(details) metric\(details == 1 ? "" : "s") per rank, step, layer or head</label>")
        }
        var groups = "<tr class=\"groups\">"
        for group in Group.allCases {
            let span = count(group)
            guard span > 0 else { continue }
            groups += "<th colspan=\"\(span)\" class=\"\(RunTable.cssClass(group))\"><span>\(e(group.title))</span></th>"
        }
        groups += "</tr>"
        let names = "<tr class=\"names\">" + columns.map { column in
            let meaning = metrics.spec(for: column.name).map { $0.axisTitle + "; " } ?? ""
            return "<th class=\"\(RunTable.cssClass(column.group))\" title=\"\(e(meaning))sort by \(e(column.name))\">\(e(column.name))</th>"
        }.joined() + "</tr>"
        let body = rows.map { row in
            "<tr>" + zip(columns, row).map { column, value in
                var classes = [RunTable.cssClass(column.group)] + (Double(value) != nil ? ["number"] : [])
                if column.name == "status", column.group == .run, let word = value.split(separator: " ").first {
                    classes.append("status-" + word.lowercased().filter { $0.isLetter })
                }
                return "<td class=\"\(classes.joined(separator: " "))\">\(e(value))</td>"
            }.joined() + "</tr>"
        }
        parts.append("<div class=\"table-scroll\" tabindex=\"0\">\n<table class=\"runs sortable\">\n<thead>\n\(groups)\n\(names)\n</thead>\n<tbody>\n"
                     + body.joined(separator: "\n") + "\n</tbody>\n</table>\n</div>")
        return parts.joined(separator: "\n")
    }

    static func cssClass(_ group: Group) -> String {
        switch group {
        case .run: "run"
        case .parameter: "parameter"
        case .figureMetric: "figure-metric"
        case .metric: "metric"
        case .detail: "detail"
        }
    }

    private func e(_ text: String) -> String { Escaping.html(text) }

    /// The table's styling: the scroll container takes the page's width and at most most of the
    /// window's height, so the header rows and the id column stay in view while it scrolls.
    static let style = """
        .fixed { margin: .3em 0; } .fixed .label { color: #555; } .fixed code { white-space: nowrap; }
        .table-scroll { overflow: auto; width: fit-content; max-width: 100%; max-height: 85vh; border: 1px solid #ddd; margin: .5em 0; }
        table.runs { border-collapse: separate; border-spacing: 0; }
        table.runs th, table.runs td { border: 0; border-right: 1px solid #e4e4e4; border-bottom: 1px solid #e4e4e4; white-space: nowrap; }
        table.runs thead th { position: sticky; z-index: 2; background: #f3f3f3; }
        table.runs tr.groups th { top: 0; height: 1.9em; box-sizing: border-box; padding: 0 .6em; line-height: 1.9em; color: #555; font-weight: normal; }
        table.runs tr.groups th span { position: sticky; left: 4em; }    /* the group's name stays in view */
        table.runs tr.names th { top: 1.9em; cursor: pointer; user-select: none; }
        table.runs tr.names th[aria-sort="ascending"]::after { content: " ▲"; }
        table.runs tr.names th[aria-sort="descending"]::after { content: " ▼"; }
        table.runs td:first-child { position: sticky; left: 0; z-index: 1; background: #fff; }
        table.runs tr.names th:first-child { left: 0; z-index: 3; }
        table.runs tbody tr:hover td { background: #f6f9ff; }
        table.runs .figure-metric { background: #fbfbf2; }
        .status-failed, .status-lost, .status-cancelled { color: #b00020; } .status-running, .status-pending, .status-queued { color: #1a5fb4; }
        input.toggle { margin: .5em .4em .5em 0; } input.toggle + label { color: #555; cursor: pointer; }
        #show-detail:not(:checked) ~ .table-scroll .detail { display: none; }
        """

    /// Sorts the run table by the clicked column (numbers as numbers, empty cells last, a second
    /// click reverses). The sort, the detail checkbox and the table's scroll position are kept
    /// in the session across the live page's reloads.
    static let script = """
        (function () {
          var key = 'loom-report:' + location.pathname, state = {};
          try { state = JSON.parse(sessionStorage.getItem(key) || '{}') || {}; } catch (error) { state = {}; }
          function save() { try { sessionStorage.setItem(key, JSON.stringify(state)); } catch (error) { /* no storage: nothing kept */ } }
          function value(cell) {
            var text = cell.textContent;
            if (text === '') return null;
            if (!cell.classList.contains('number')) return text;
            if (text === 'inf' || text === '+inf') return Infinity;
            if (text === '-inf') return -Infinity;
            var number = Number(text);
            return isNaN(number) ? null : number;
          }
          function compare(a, b) {
            if (typeof a === typeof b) return typeof a === 'number' ? a - b : a.localeCompare(b, undefined, {numeric: true});
            return typeof a === 'number' ? -1 : 1;
          }
          var table = document.querySelector('table.runs.sortable');
          if (!table) return;
          var head = table.tHead.rows[table.tHead.rows.length - 1];
          function sort(column, ascending) {
            Array.prototype.forEach.call(head.cells, function (other) { other.removeAttribute('aria-sort'); });
            head.cells[column].setAttribute('aria-sort', ascending ? 'ascending' : 'descending');
            var body = table.tBodies[0];
            var rows = Array.prototype.slice.call(body.rows).map(function (row) { return [value(row.cells[column]), row]; });
            rows.sort(function (x, y) {
              if (x[0] === null || y[0] === null) return (x[0] === null) - (y[0] === null);
              return ascending ? compare(x[0], y[0]) : compare(y[0], x[0]);
            });
            rows.forEach(function (pair) { body.appendChild(pair[1]); });
            state.sort = [column, ascending];
            save();
          }
          Array.prototype.forEach.call(head.cells, function (th, column) {
            th.tabIndex = 0;
            function click() { sort(column, th.getAttribute('aria-sort') !== 'ascending'); }
            th.addEventListener('click', click);
            th.addEventListener('keydown', function (event) { if (event.key === 'Enter') click(); });
          });
          if (state.sort && state.sort[0] < head.cells.length) sort(state.sort[0], state.sort[1]);
          var toggle = document.getElementById('show-detail');
          if (toggle) {
            toggle.checked = state.detail === true;
            toggle.addEventListener('change', function () { state.detail = toggle.checked; save(); });
          }
          var box = table.parentNode;
          if (state.scroll) { box.scrollLeft = state.scroll[0]; box.scrollTop = state.scroll[1]; }
          function keepScroll() { state.scroll = [box.scrollLeft, box.scrollTop]; save(); }
          box.addEventListener('scroll', keepScroll);
          // A scroll event waits for the next frame; a reload inside that frame would lose it.
          window.addEventListener('pagehide', keepScroll);
        })();
        """
}
