//! The stdio transport: LSP's `Content-Length` framing, read by our own loop rather than
//! `lsp_server::Connection::stdio` because that reader thread stops at the first malformed message
//! (and allocates whatever length a header claims). Here a frame whose JSON is malformed is
//! answered and skipped, a header line that is not `Name: value` is skipped, and a frame above
//! [`MAX_MESSAGE_BYTES`] is discarded without being held; the server stops only at end of input.
use std::io::{self, BufRead, Read, Write};

use lsp_server::Message;

/// Frames above this size are discarded (an editor sends a whole buffer per change: 64 MiB is far
/// above the linter's own file size limit).
pub const MAX_MESSAGE_BYTES: usize = 64 << 20;

/// One frame read from the client.
#[derive(Debug)]
pub enum Incoming {
    Message(Message),
    /// A frame that is not a JSON-RPC message: why, for the error response and the log.
    Malformed(String),
    /// End of input: the client went away.
    Closed,
}

/// Reads the next frame. Never fails on bad input; an I/O error ends the input.
pub fn read(input: &mut impl BufRead) -> Incoming {
    read_with_limit(input, MAX_MESSAGE_BYTES)
}

fn read_with_limit(input: &mut impl BufRead, limit: usize) -> Incoming {
    let mut length: Option<usize> = None;
    let mut problem: Option<String> = None;
    let mut line = Vec::new();
    loop {
        line.clear();
        // A header line is short; a runaway one is cut off and reported (the rest of it is
        // skipped as the next lines).
        match input.by_ref().take(4096).read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => return Incoming::Closed,
            Ok(_) => {}
        }
        let text = String::from_utf8_lossy(&line);
        let header = text.trim_end_matches(['\r', '\n']);
        if header.is_empty() {
            if length.is_some() || problem.is_some() {
                break;
            }
            // Blank lines between frames: tolerated.
            continue;
        }
        match header.split_once(':') {
            Some((name, value)) if name.trim().eq_ignore_ascii_case("content-length") => {
                match value.trim().parse::<usize>() {
                    Ok(n) => length = Some(n),
                    Err(_) => problem = Some(format!("bad Content-Length header: {header:?}")),
                }
            }
            Some(_) => {}
            None => problem = Some(format!("malformed header line: {header:?}")),
        }
    }
    let Some(length) = length else {
        return Incoming::Malformed(problem.unwrap_or_else(|| "no Content-Length".to_owned()));
    };
    if length > limit {
        return match io::copy(&mut input.by_ref().take(length as u64), &mut io::sink()) {
            Ok(n) if n == length as u64 => Incoming::Malformed(format!(
                "a message of {length} bytes, above the limit of {limit}"
            )),
            _ => Incoming::Closed,
        };
    }
    let mut body = Vec::new();
    match input.by_ref().take(length as u64).read_to_end(&mut body) {
        Ok(n) if n == length => {}
        _ => return Incoming::Closed,
    }
    if let Some(problem) = problem {
        return Incoming::Malformed(problem);
    }
    match serde_json::from_slice::<Message>(&body) {
        Ok(message) => Incoming::Message(message),
        Err(e) => Incoming::Malformed(format!("not a JSON-RPC message: {e}")),
    }
}

/// Writes one message, framed.
pub fn write(output: &mut impl Write, message: &Message) -> io::Result<()> {
    message.write(output)
}

/// JSON-RPC's answer to a frame that could not be read as a message: a parse error with a null id
/// (`lsp_server::Response` cannot carry one).
pub fn write_parse_error(output: &mut impl Write, why: &str) -> io::Result<()> {
    let body = serde_json::json!({
        "jsonrpc": "2.0",
        "id": null,
        "error": { "code": lsp_server::ErrorCode::ParseError as i32, "message": why },
    })
    .to_string();
    write!(output, "Content-Length: {}\r\n\r\n{body}", body.len())?;
    output.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(body: &str) -> String {
        format!("Content-Length: {}\r\n\r\n{body}", body.len())
    }

    #[test]
    fn a_malformed_frame_is_skipped_and_the_next_one_read() {
        let good = r#"{"jsonrpc":"2.0","method":"initialized","params":{}}"#;
        let text = format!(
            "{}garbage line\r\n\r\n{}Content-Length: 99999999999\r\n\r\n{}",
            frame("{not json"),
            frame(good),
            frame(good)
        );
        let mut input = io::Cursor::new(text.into_bytes());
        assert!(matches!(read(&mut input), Incoming::Malformed(m) if m.contains("JSON")));
        assert!(matches!(read(&mut input), Incoming::Malformed(m) if m.contains("header")));
        assert!(
            matches!(read(&mut input), Incoming::Message(Message::Notification(n)) if n.method == "initialized")
        );
        // The oversized frame claims more bytes than there are: the input ends there.
        assert!(matches!(read(&mut input), Incoming::Closed));
    }

    #[test]
    fn an_oversized_frame_is_discarded_whole() {
        let big = "x".repeat(1001);
        let good = r#"{"jsonrpc":"2.0","method":"exit"}"#;
        let text = format!("{}{}", frame(&big), frame(good));
        let mut input = io::Cursor::new(text.into_bytes());
        let limit = 1000;
        assert!(
            matches!(read_with_limit(&mut input, limit), Incoming::Malformed(m) if m.contains("limit"))
        );
        assert!(matches!(
            read_with_limit(&mut input, limit),
            Incoming::Message(_)
        ));
    }
}
