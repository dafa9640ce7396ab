import Experiments
import Testing

/// `CSVRows.field`: RFC 4180 quoting and spreadsheet formulas kept as text.
@Suite struct CSVFieldTests {
    @Test func quotesWhatNeedsQuoting() {
        #expect(CSVRows.field("plain") == "plain")
        #expect(CSVRows.field("a,b") == "\"a,b\"")
        #expect(CSVRows.field("say \"hi\"") == "\"say \"\"hi\"\"\"")
        #expect(CSVRows.field("two\nlines") == "\"two\nlines\"")
        #expect(CSVRows.field("carriage\rreturn") == "\"carriage\rreturn\"")
        #expect(CSVRows.field("") == "")
    }

    @Test func formulasBecomeTextButNumbersStayNumbers() {
        #expect(CSVRows.field("=1+2") == "'=1+2")
        #expect(CSVRows.field("+cmd") == "'+cmd")
        #expect(CSVRows.field("@SUM(A1)") == "'@SUM(A1)")
        #expect(CSVRows.field("=HYPERLINK(\"x\",\"y\")") == "\"'=HYPERLINK(\"\"x\"\",\"\"y\"\")\"")
        #expect(CSVRows.field("-3.5") == "-3.5")
        #expect(CSVRows.field("+7") == "+7")
        #expect(CSVRows.field("-1e-05") == "-1e-05")
    }

    @Test func aLineJoinsFields() {
        #expect(CSVRows.line(["a", "b,c", "=d"]) == "a,\"b,c\",'=d")
    }
}
