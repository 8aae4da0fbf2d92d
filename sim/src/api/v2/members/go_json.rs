//! Go's `encoding/json` error texts for request bodies: the syntax check
//! `json.Unmarshal` runs before decoding (`checkValid`), and the JSON kind names of
//! its type errors.

/// Go's `quoteChar`: how a syntax error names the offending byte.
fn quote_char(c: u8) -> String {
    match c {
        b'\'' => "'\\''".into(),
        b'"' => "'\"'".into(),
        b'\n' => "'\\n'".into(),
        b'\r' => "'\\r'".into(),
        b'\t' => "'\\t'".into(),
        0x07 => "'\\a'".into(),
        0x08 => "'\\b'".into(),
        0x0c => "'\\f'".into(),
        0x0b => "'\\v'".into(),
        c if c < 0x20 || c == 0x7f => format!("'\\x{c:02x}'"),
        c if c < 0x7f => format!("'{}'", c as char),
        // Go converts the byte itself to a rune: U+0080..U+00FF.
        c if c < 0xa0 => format!("'\\u{c:04x}'"),
        c => format!("'{}'", char::from(c)),
    }
}

struct Scanner<'a> {
    b: &'a [u8],
    i: usize,
}

type Step = Result<(), String>;

const EOF: &str = "unexpected end of JSON input";

impl Scanner<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    fn next(&mut self) -> Result<u8, String> {
        let c = self.peek().ok_or_else(|| EOF.to_string())?;
        self.i += 1;
        Ok(c)
    }

    fn invalid(c: u8, context: &str) -> String {
        format!("invalid character {} {context}", quote_char(c))
    }

    fn value(&mut self) -> Step {
        self.ws();
        match self.next()? {
            b'{' => self.object(),
            b'[' => self.array(),
            b'"' => self.string(),
            c @ (b'-' | b'0'..=b'9') => self.number(c),
            b't' => self.literal("true"),
            b'f' => self.literal("false"),
            b'n' => self.literal("null"),
            c => Err(Self::invalid(c, "looking for beginning of value")),
        }
    }

    fn object(&mut self) -> Step {
        self.ws();
        if self.peek() == Some(b'}') {
            self.i += 1;
            return Ok(());
        }
        loop {
            self.ws();
            match self.next()? {
                b'"' => self.string()?,
                c => {
                    return Err(Self::invalid(
                        c,
                        "looking for beginning of object key string",
                    ));
                }
            }
            self.ws();
            match self.next()? {
                b':' => {}
                c => return Err(Self::invalid(c, "after object key")),
            }
            self.value()?;
            self.ws();
            match self.next()? {
                b',' => {}
                b'}' => return Ok(()),
                c => return Err(Self::invalid(c, "after object key:value pair")),
            }
        }
    }

    fn array(&mut self) -> Step {
        self.ws();
        if self.peek() == Some(b']') {
            self.i += 1;
            return Ok(());
        }
        loop {
            self.value()?;
            self.ws();
            match self.next()? {
                b',' => {}
                b']' => return Ok(()),
                c => return Err(Self::invalid(c, "after array element")),
            }
        }
    }

    fn string(&mut self) -> Step {
        loop {
            match self.next()? {
                b'"' => return Ok(()),
                b'\\' => match self.next()? {
                    b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => {}
                    b'u' => {
                        for _ in 0..4 {
                            let c = self.next()?;
                            if !c.is_ascii_hexdigit() {
                                return Err(Self::invalid(
                                    c,
                                    "in \\u hexadecimal character escape",
                                ));
                            }
                        }
                    }
                    c => return Err(Self::invalid(c, "in string escape code")),
                },
                c if c < 0x20 => return Err(Self::invalid(c, "in string literal")),
                _ => {}
            }
        }
    }

    fn digits(&mut self) {
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.i += 1;
        }
    }

    fn number(&mut self, first: u8) -> Step {
        let lead = if first == b'-' {
            let c = self.next()?;
            if !c.is_ascii_digit() {
                return Err(Self::invalid(c, "in numeric literal"));
            }
            c
        } else {
            first
        };
        if lead != b'0' {
            self.digits();
        }
        if self.peek() == Some(b'.') {
            self.i += 1;
            let c = self.next()?;
            if !c.is_ascii_digit() {
                return Err(Self::invalid(c, "after decimal point in numeric literal"));
            }
            self.digits();
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.i += 1;
            let mut c = self.next()?;
            if matches!(c, b'+' | b'-') {
                c = self.next()?;
            }
            if !c.is_ascii_digit() {
                return Err(Self::invalid(c, "in exponent of numeric literal"));
            }
            self.digits();
        }
        Ok(())
    }

    fn literal(&mut self, word: &str) -> Step {
        for expect in word.bytes().skip(1) {
            let c = self.next()?;
            if c != expect {
                return Err(Self::invalid(
                    c,
                    &format!("in literal {word} (expecting {})", quote_char(expect)),
                ));
            }
        }
        Ok(())
    }
}

/// The error Go's `json.Unmarshal` reports for `b` before decoding, if `b` is not
/// valid JSON.
pub(super) fn go_json_syntax_error(b: &[u8]) -> Option<String> {
    let mut s = Scanner { b, i: 0 };
    if let Err(e) = s.value() {
        return Some(e);
    }
    s.ws();
    s.peek()
        .map(|c| Scanner::invalid(c, "after top-level value"))
}

/// The JSON kind a Go type error names (`string`, `number`, `bool`, `array`,
/// `object`, `null`).
pub(super) fn go_kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "bool",
        serde_json::Value::Number(_) => "number",
        serde_json::Value::String(_) => "string",
        serde_json::Value::Array(_) => "array",
        serde_json::Value::Object(_) => "object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(s: &str) -> Option<String> {
        go_json_syntax_error(s.as_bytes())
    }

    #[test]
    fn go_syntax_error_texts() {
        assert_eq!(
            err("{bad"),
            Some("invalid character 'b' looking for beginning of object key string".into())
        );
        assert_eq!(err(""), Some(EOF.into()));
        assert_eq!(err("{\"a\":1"), Some(EOF.into()));
        assert_eq!(
            err("{\"a\" 1}"),
            Some("invalid character '1' after object key".into())
        );
        assert_eq!(
            err("{\"a\":1 2}"),
            Some("invalid character '2' after object key:value pair".into())
        );
        assert_eq!(
            err("[1 2]"),
            Some("invalid character '2' after array element".into())
        );
        assert_eq!(
            err("{} x"),
            Some("invalid character 'x' after top-level value".into())
        );
        assert_eq!(err("tru"), Some(EOF.into()));
        assert_eq!(
            err("trux"),
            Some("invalid character 'x' in literal true (expecting 'e')".into())
        );
        assert_eq!(
            err("-x"),
            Some("invalid character 'x' in numeric literal".into())
        );
        assert_eq!(
            err("\"a\nb\""),
            Some("invalid character '\\n' in string literal".into())
        );
        assert_eq!(
            err("]"),
            Some("invalid character ']' looking for beginning of value".into())
        );
        assert_eq!(
            err(" {\"peerURLs\":[\"http://a:1\"],\"x\":[1.5e3,null,true]} "),
            None
        );
    }
}
