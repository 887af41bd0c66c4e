//! Tokens of BIND's configuration syntax, as `tsig-keygen` key files and `trust-anchors`
//! blocks use it: words, quoted strings (which may span lines), `{`, `}` and `;`, with `#`,
//! `//` and `/* */` comments dropped (outside quotes only: base64 key text holds `//`).

/// One token and the line it starts on.
pub(crate) struct Token {
    /// The word, the string's contents (without quotes) or the punctuation.
    pub(crate) text: String,
    /// A quoted string.
    pub(crate) quoted: bool,
    /// 1-based line where it starts.
    pub(crate) line: usize,
}

/// The tokens of `text`, or the line and reason of an unterminated comment or string.
pub(crate) fn tokenize(text: &str) -> Result<Vec<Token>, (usize, &'static str)> {
    let mut out = Vec::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    let mut line = 1;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\n' => {
                line += 1;
                i += 1;
            }
            c if c.is_whitespace() => i += 1,
            '#' => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            '/' if chars.get(i + 1) == Some(&'/') => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            '/' if chars.get(i + 1) == Some(&'*') => {
                let start = line;
                i += 2;
                loop {
                    match chars.get(i) {
                        None => return Err((start, "unterminated comment")),
                        Some('*') if chars.get(i + 1) == Some(&'/') => {
                            i += 2;
                            break;
                        }
                        Some('\n') => {
                            line += 1;
                            i += 1;
                        }
                        Some(_) => i += 1,
                    }
                }
            }
            '{' | '}' | ';' => {
                out.push(Token {
                    text: c.to_string(),
                    quoted: false,
                    line,
                });
                i += 1;
            }
            '"' => {
                let start = line;
                i += 1;
                let mut s = String::new();
                loop {
                    match chars.get(i) {
                        None => return Err((start, "unterminated string")),
                        Some('"') => {
                            i += 1;
                            break;
                        }
                        Some('\n') => {
                            line += 1;
                            s.push('\n');
                            i += 1;
                        }
                        Some(&ch) => {
                            s.push(ch);
                            i += 1;
                        }
                    }
                }
                out.push(Token {
                    text: s,
                    quoted: true,
                    line: start,
                });
            }
            _ => {
                let mut s = String::new();
                while i < chars.len() {
                    let ch = chars[i];
                    if ch.is_whitespace() || matches!(ch, '{' | '}' | ';' | '"') {
                        break;
                    }
                    s.push(ch);
                    i += 1;
                }
                out.push(Token {
                    text: s,
                    quoted: false,
                    line,
                });
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_end_only_outside_quotes() {
        let t = tokenize("a \"x//y#z\n w\"; // c\n# d\n/* e\n */ b").unwrap();
        let got: Vec<(&str, bool, usize)> = t
            .iter()
            .map(|t| (t.text.as_str(), t.quoted, t.line))
            .collect();
        assert_eq!(
            got,
            [
                ("a", false, 1),
                ("x//y#z\n w", true, 1),
                (";", false, 2),
                ("b", false, 5)
            ]
        );
        assert_eq!(tokenize("\"open").err(), Some((1, "unterminated string")));
        assert_eq!(
            tokenize("\n/* open").err(),
            Some((2, "unterminated comment"))
        );
    }
}
