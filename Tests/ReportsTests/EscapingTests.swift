import Testing
@testable import Reports

/// Each language's escaping on the characters that mean something in it.
@Suite struct EscapingTests {
    @Test func gnuplotStringsAreSingleQuotedOnOneLine() {
        #expect(Escaping.gnuplot("plain") == "'plain'")
        #expect(Escaping.gnuplot("it's") == "'it''s'", "a quote is doubled, the only escape in single quotes")
        #expect(Escaping.gnuplot("t`touch x` \"q\" \\n @a {b}") == "'t`touch x` \"q\" \\n @a {b}'",
                "backquotes, double quotes, backslashes and macros stay: single quotes run and expand none of them")
        #expect(Escaping.gnuplot("a\nb\r\nc\u{2028}d") == "'a b c d'", "a line break would end the command")
        #expect(Escaping.gnuplot("a\u{1}b\tc") == "'a\u{FFFD}b c'")
        #expect(Escaping.gnuplot("'.system('x').'") == #""'" . '.system(''x'').'''"#, "gnuplot misreads a string opening with ''")
        #expect(Escaping.gnuplot("''") == #""''""#)
    }

    @Test func gnuplotCommentsStayOneLineAndDoNotContinue() {
        #expect(Escaping.gnuplotComment("a\nsystem('touch x')") == "a system('touch x')")
        #expect(Escaping.gnuplotComment("ends in \\") == "ends in \\ (end)", "a trailing backslash continues a comment onto the next line")
        #expect(Escaping.gnuplotComment("a \\ b") == "a \\ b")
    }

    @Test func gnuplotDataFieldsAreOneQuotedField() {
        #expect(Escaping.gnuplotDataField("a \"b\"\nc") == "\"a 'b' c\"")
    }

    @Test(arguments: [
        ("plain", "\"plain\""),
        ("say \"hi\"", "\"say \\\"hi\\\"\""),
        ("\\N \\G \\E \\T \\H \\L \\l \\r \\n", "\"\\\\N \\\\G \\\\E \\\\T \\\\H \\\\L \\\\l \\\\r \\\\n\""),
        ("two\nlines", "\"two\\nlines\""),
        ("crlf\r\nend", "\"crlf\\nend\""),
        ("<b>] ; {} -> x", "\"<b>] ; {} -> x\""),
        ("bell\u{7}", "\"bell\u{FFFD}\""),
        ("ends in \\", "\"ends in \\\\\""),
    ])
    func dotIDsEscapeQuotesAndBackslashes(text: String, expected: String) {
        #expect(Escaping.dot(text) == expected)
    }

    @Test func htmlEscapesTheFiveCharacters() {
        #expect(Escaping.html("<script>alert(1)</script>") == "&lt;script&gt;alert(1)&lt;/script&gt;")
        #expect(Escaping.html("\" onerror=\"x' & y") == "&quot; onerror=&quot;x&#39; &amp; y")
        #expect(Escaping.html("a\u{0}b") == "a\u{FFFD}b", "XML has no NUL")
    }

    @Test(arguments: [
        ("speed.svg", "speed.svg"),
        ("javascript:alert(1)", "javascript%3Aalert%281%29"),
        ("a b#c?d%e/f\"g", "a%20b%23c%3Fd%25e%2Ff%22g"),
        ("é", "%C3%A9"),
        ("..", "%2E%2E"),
    ])
    func relativeURLsAreFileNamesOnly(name: String, expected: String) {
        #expect(Escaping.relativeURL(name) == expected)
    }

    @Test(arguments: [
        ("0.78", "0.78"),
        ("-1.5", "-1.5"),
        ("causal=true (d = 64)", "causal=true (d = 64)"),
        ("a|b", "a\\|b"),
        ("[click](javascript:alert(1))", "\\[click\\](javascript:alert(1))"),
        ("![x](y)", "!\\[x\\](y)"),
        ("<img src=x onerror=alert(1)>", "\\<img src=x onerror=alert(1)\\>"),
        ("`code` *em* _em_ ~~del~~ &amp; #h \\", "\\`code\\` \\*em\\* \\_em\\_ \\~\\~del\\~\\~ \\&amp; \\#h \\\\"),
        ("- item", "\\- item"),
        ("+ item", "\\+ item"),
        ("12. item", "12\\. item"),
        ("3) item", "3\\) item"),
        ("===", "\\==="),
        ("row\nbreak", "row<br>break"),
    ])
    func markdownCannotStartMarkupOrEndARow(text: String, expected: String) {
        #expect(Escaping.markdown(text) == expected)
    }
}
