//! Parser for tiktoken vocabularies (`gpt2.tiktoken`, `multilingual.tiktoken` from
//! openai-whisper): one `BASE64TOKEN RANK` pair per line. whisper.cpp wants the raw token bytes
//! in rank order, so ranks must run 0, 1, 2, … without gaps.

use base64::Engine;

/// Decodes the tokens of a `.tiktoken` file in rank order.
pub fn parse(text: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut tokens = Vec::new();
    for (lineno, line) in text.split(|&b| b == b'\n').enumerate() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            continue;
        }
        let line =
            std::str::from_utf8(line).map_err(|_| format!("line {}: not text", lineno + 1))?;
        let mut parts = line.split(' ');
        let (Some(token), Some(rank), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(format!("line {}: expected `TOKEN RANK`", lineno + 1));
        };
        let rank: usize = rank
            .parse()
            .map_err(|_| format!("line {}: bad rank `{rank}`", lineno + 1))?;
        if rank != tokens.len() {
            return Err(format!(
                "line {}: rank {rank} out of order (expected {})",
                lineno + 1,
                tokens.len()
            ));
        }
        // "=" alone is the empty token of the multilingual vocabulary; base64 decodes "" for it.
        let bytes = if token == "=" {
            Vec::new()
        } else {
            b64.decode(token)
                .map_err(|e| format!("line {}: bad base64: {e}", lineno + 1))?
        };
        tokens.push(bytes);
    }
    if tokens.is_empty() {
        return Err("no tokens".into());
    }
    Ok(tokens)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_tokens_in_rank_order() {
        let t = parse(b"IQ== 0\nIg== 1\n= 2\n").unwrap();
        assert_eq!(t, vec![b"!".to_vec(), b"\"".to_vec(), Vec::new()]);
    }

    #[test]
    fn rejects_gaps_and_garbage() {
        assert!(
            parse(b"IQ== 0\nIg== 2\n")
                .unwrap_err()
                .contains("out of order")
        );
        assert!(parse(b"IQ==\n").unwrap_err().contains("TOKEN RANK"));
        assert!(parse(b"").is_err());
    }
}
