//! JSON encoding that matches Go's `encoding/json` byte for byte.
//!
//! Go escapes `<`, `>` and `&` as `\u003c`, `\u003e` and `\u0026`, and the line
//! separators U+2028 and U+2029 as `\u2028` and `\u2029`; serde_json does not. The
//! server needs Go's bytes (clients compare bodies exactly), so it encodes through
//! [`to_go_json`].

use serde::Serialize;
use serde_json::ser::{CharEscape, Formatter, Serializer};
use std::io;

/// A serde_json formatter that adds Go's HTML and line-separator escapes.
struct GoFormatter;

impl Formatter for GoFormatter {
    fn write_string_fragment<W>(&mut self, writer: &mut W, fragment: &str) -> io::Result<()>
    where
        W: ?Sized + io::Write,
    {
        let mut start = 0;
        for (i, ch) in fragment.char_indices() {
            let escape: Option<&[u8]> = match ch {
                '<' => Some(b"\\u003c"),
                '>' => Some(b"\\u003e"),
                '&' => Some(b"\\u0026"),
                '\u{2028}' => Some(b"\\u2028"),
                '\u{2029}' => Some(b"\\u2029"),
                _ => None,
            };
            if let Some(escape) = escape {
                writer.write_all(&fragment.as_bytes()[start..i])?;
                writer.write_all(escape)?;
                start = i + ch.len_utf8();
            }
        }
        writer.write_all(&fragment.as_bytes()[start..])
    }

    fn write_char_escape<W>(&mut self, writer: &mut W, char_escape: CharEscape) -> io::Result<()>
    where
        W: ?Sized + io::Write,
    {
        // Go writes control characters other than \n, \r and \t as \u00XX, and
        // (unlike serde_json) never uses \b or \f.
        let bytes: Vec<u8> = match char_escape {
            CharEscape::Quote => b"\\\"".to_vec(),
            CharEscape::ReverseSolidus => b"\\\\".to_vec(),
            CharEscape::LineFeed => b"\\n".to_vec(),
            CharEscape::CarriageReturn => b"\\r".to_vec(),
            CharEscape::Tab => b"\\t".to_vec(),
            CharEscape::Backspace => b"\\u0008".to_vec(),
            CharEscape::FormFeed => b"\\u000c".to_vec(),
            CharEscape::AsciiControl(byte) => format!("\\u{byte:04x}").into_bytes(),
            _ => b"\\ufffd".to_vec(),
        };
        writer.write_all(&bytes)
    }
}

/// Encodes `value` as Go's `json.Marshal` would (compact, HTML-escaped).
pub fn to_go_json<T: Serialize + ?Sized>(value: &T) -> Vec<u8> {
    let mut out = Vec::with_capacity(128);
    let mut ser = Serializer::with_formatter(&mut out, GoFormatter);
    // Serializing our own plain data types into a Vec cannot fail: they hold no
    // maps with non-string keys and no custom serializers that return errors.
    if value.serialize(&mut ser).is_err() {
        out.clear();
        out.extend_from_slice(b"null");
    }
    out
}

/// Like [`to_go_json`], followed by the `\n` that Go's `json.Encoder` appends.
pub fn to_go_json_line<T: Serialize + ?Sized>(value: &T) -> Vec<u8> {
    let mut out = to_go_json(value);
    out.push(b'\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_html_and_separators_like_go() {
        let v = "<a&b> é \"q\" \\ \u{2028}";
        assert_eq!(
            String::from_utf8(to_go_json(v)).unwrap(),
            r#""\u003ca\u0026b\u003e é \"q\" \\ \u2028""#
        );
    }

    #[test]
    fn control_characters_use_unicode_escapes() {
        assert_eq!(
            to_go_json("\u{8}\u{c}\u{1}\n"),
            br#""\u0008\u000c\u0001\n""#.to_vec()
        );
    }

    #[test]
    fn line_variant_appends_newline() {
        assert_eq!(to_go_json_line(&1u8), b"1\n".to_vec());
    }
}
