//! Strict hex parsing shared by every room that reads hex from files or DNS.

/// Why a hex string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HexError {
    /// The string has the wrong number of hex digits.
    #[error("expected {expected} hex digits, found {found}")]
    Length {
        /// Digits required.
        expected: usize,
        /// Digits present.
        found: usize,
    },
    /// A character outside `0-9a-fA-F`.
    #[error("character {ch:?} at position {pos} is not a hex digit")]
    Digit {
        /// The offending character.
        ch: char,
        /// Its position (0-based, after any `0x`).
        pos: usize,
    },
}

/// Parse exactly `N` bytes of hex, with an optional `0x` prefix when `allow_0x` is set.
pub fn parse_fixed<const N: usize>(s: &str, allow_0x: bool) -> Result<[u8; N], HexError> {
    let body = if allow_0x {
        s.strip_prefix("0x")
            .or_else(|| s.strip_prefix("0X"))
            .unwrap_or(s)
    } else {
        s
    };
    if let Some((pos, ch)) = body.char_indices().find(|(_, c)| !c.is_ascii_hexdigit()) {
        return Err(HexError::Digit { ch, pos });
    }
    if body.len() != 2 * N {
        return Err(HexError::Length {
            expected: 2 * N,
            found: body.len(),
        });
    }
    let mut out = [0u8; N];
    hex::decode_to_slice(body, &mut out).map_err(|_| HexError::Length {
        expected: 2 * N,
        found: body.len(),
    })?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_with_and_without_prefix() {
        assert_eq!(parse_fixed::<2>("0xabCD", true).unwrap(), [0xab, 0xcd]);
        assert_eq!(parse_fixed::<2>("abcd", false).unwrap(), [0xab, 0xcd]);
        assert!(matches!(
            parse_fixed::<2>("0xabcd", false),
            Err(HexError::Digit { ch: 'x', pos: 1 })
        ));
    }

    #[test]
    fn refuses_bad_length_and_digits() {
        assert_eq!(
            parse_fixed::<2>("abc", false),
            Err(HexError::Length {
                expected: 4,
                found: 3
            })
        );
        assert_eq!(
            parse_fixed::<2>("abcg", false),
            Err(HexError::Digit { ch: 'g', pos: 3 })
        );
    }
}
