//! What one HTTP exchange with one endpoint gave: an answer, etcd's own
//! error, or a failure sorted by whether the request can have reached the
//! server (the failover decides on that).

use std::io::Read;

use super::tls::describe_tls;
use super::wire;

/// The largest answer read from a server. A vault is small; this only stops a
/// confused or hostile server from filling memory.
const MAX_ANSWER_BYTES: u64 = 256 * 1024 * 1024;

/// What one attempt on one endpoint gave.
#[derive(Debug)]
pub(super) enum Attempt {
    /// A 2xx answer's body.
    Answered(Vec<u8>),
    /// etcd's own error answer.
    ServerError { code: i64, message: String },
    /// Nothing reached the server (refused, unresolvable, connect timed out).
    NotSent(String),
    /// The request may have reached the server, but no answer came.
    MaybeSent(String),
    /// The TLS handshake failed.
    Tls(String),
    /// Something answered that is not etcd's gateway.
    NotEtcd(String),
}

pub(super) fn read_body(response: ureq::Response) -> Result<Vec<u8>, String> {
    // etcd's gateway ends its error answers with an HTTP trailer
    // (Grpc-Trailer-Content-Type), which ureq 2's chunked decoder rejects
    // after it has delivered the whole body. With trailers announced, keep
    // what was read: the JSON parser then tells a whole answer from a cut one.
    let trailers = response.header("Trailer").is_some();
    let mut answer = Vec::new();
    let read = response
        .into_reader()
        .take(MAX_ANSWER_BYTES + 1)
        .read_to_end(&mut answer);
    match read {
        Ok(_) => {}
        Err(e) if trailers && e.kind() == std::io::ErrorKind::InvalidInput => {}
        Err(e) => return Err(format!("reading the answer: {}", io_reason(&e))),
    }
    if answer.len() as u64 > MAX_ANSWER_BYTES {
        return Err(format!("answer larger than {MAX_ANSWER_BYTES} bytes"));
    }
    Ok(answer)
}

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => "timed out".into(),
        _ => e.to_string(),
    }
}

/// Reads etcd's error answer: `{"error": "...", "message": "...", "code": N}`.
pub(super) fn server_error(status: u16, answer: &[u8]) -> Attempt {
    match serde_json::from_slice::<wire::ErrorAnswer>(answer) {
        Ok(w) if w.message.is_some() || w.error.is_some() => Attempt::ServerError {
            code: w.code,
            message: w.message.or(w.error).unwrap_or_default(),
        },
        _ => {
            // Go's TLS server answers plain HTTP with this 400.
            let text = String::from_utf8_lossy(&answer[..answer.len().min(200)]).into_owned();
            if text.contains("HTTP request to an HTTPS server") {
                Attempt::Tls(
                    "the server speaks TLS and this client plain HTTP: give the CA, client \
                     certificate and key"
                        .into(),
                )
            } else {
                Attempt::NotEtcd(format!("HTTP {status} that is not etcd's error JSON"))
            }
        }
    }
}

/// Sorts a transport failure: TLS, before sending, or after.
pub(super) fn transport_error(transport: &ureq::Transport) -> Attempt {
    if let Some(tls) = find_rustls_error(transport) {
        return Attempt::Tls(describe_tls(tls));
    }
    let why = match transport_io_error(transport) {
        Some(io) => io_reason(io),
        None => transport.kind().to_string(),
    };
    match transport.kind() {
        ureq::ErrorKind::ConnectionFailed
        | ureq::ErrorKind::Dns
        | ureq::ErrorKind::InvalidUrl
        | ureq::ErrorKind::UnknownScheme => Attempt::NotSent(why),
        // A reset or a timeout while sending or reading: the server may have
        // read the whole request and acted on it.
        _ => Attempt::MaybeSent(why),
    }
}

/// The errors behind a transport failure, nearest first.
fn sources(
    transport: &ureq::Transport,
) -> impl Iterator<Item = &(dyn std::error::Error + 'static)> {
    std::iter::successors(std::error::Error::source(transport), |e| e.source())
}

fn transport_io_error(transport: &ureq::Transport) -> Option<&std::io::Error> {
    sources(transport).find_map(|e| e.downcast_ref::<std::io::Error>())
}

/// rustls errors travel inside `io::Error`s, whose `source()` skips the error
/// they wrap: look inside each one.
pub(super) fn find_rustls_error(transport: &ureq::Transport) -> Option<&rustls::Error> {
    sources(transport).find_map(|e| {
        e.downcast_ref::<rustls::Error>().or_else(|| {
            e.downcast_ref::<std::io::Error>()
                .and_then(|io| io.get_ref())
                .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        })
    })
}

/// Whether the server closed the connection on us.
pub(super) fn hung_up(transport: &ureq::Transport) -> bool {
    use std::io::ErrorKind as K;
    transport_io_error(transport).is_some_and(|io| {
        matches!(
            io.kind(),
            K::ConnectionAborted | K::ConnectionReset | K::BrokenPipe | K::UnexpectedEof
        )
    })
}
