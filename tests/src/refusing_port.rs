//! A loopback port that refuses connections for as long as the test holds it.

/// A port nothing listens on, and the socket that keeps it: bound but never listening, so
/// connections to it are refused and the port cannot be handed to a server started
/// meanwhile (a port merely found free and released was once given to the very gateway
/// under test, which then answered the "dead" address with 404).
pub struct RefusingPort {
    pub port: u16,
    _held: tokio::net::TcpSocket,
}

impl RefusingPort {
    pub fn new() -> Self {
        let socket = tokio::net::TcpSocket::new_v4().expect("socket");
        socket
            .bind("127.0.0.1:0".parse().expect("addr"))
            .expect("bind");
        let port = socket.local_addr().expect("addr").port();
        RefusingPort {
            port,
            _held: socket,
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Default for RefusingPort {
    fn default() -> Self {
        Self::new()
    }
}
