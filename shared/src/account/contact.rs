//! Contact URIs and credentials of accounts (the seed's `ContactURI` and `Credentials`;
//! RFC 3261 §8.1.1.8 Contact, §22 digest credentials; RFC 7118 §5 `.invalid` hosts).

use std::collections::BTreeMap;
use std::fmt;

use crate::rng::Rng;
use crate::settings::Transport;
use crate::sip::Uri;

/// Where this user agent can be reached: a host and the port of each transport it listens
/// on. The shell knows it (the socket it bound, or nothing at all in a browser) and hands it
/// to the [`AccountManager`](super::AccountManager).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactAddress {
    /// Host name or IP address (an IPv6 address in brackets).
    pub host: String,
    /// The port of each transport; a transport without a port gets a URI without one.
    pub ports: BTreeMap<Transport, u16>,
}

impl ContactAddress {
    /// `host` with no ports.
    pub fn new(host: impl Into<String>) -> ContactAddress {
        ContactAddress {
            host: host.into(),
            ports: BTreeMap::new(),
        }
    }

    /// A random `<12 letters>.invalid` host, as a WebSocket client that cannot be reached
    /// directly uses (RFC 7118 §5).
    pub fn random_invalid(rng: &mut Rng) -> ContactAddress {
        ContactAddress::new(format!("{}.invalid", rng.letters(12)))
    }

    /// This address with `port` for `transport`.
    pub fn with_port(mut self, transport: Transport, port: u16) -> ContactAddress {
        self.ports.insert(transport, port);
        self
    }

    /// The port of `transport`, if known.
    pub fn port(&self, transport: Transport) -> Option<u16> {
        self.ports.get(&transport).copied()
    }
}

/// An account's contact: a random user part (8 lowercase letters, as the seed says) at the
/// local [`ContactAddress`]. Printed as `user@host`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactUri {
    username: String,
    address: ContactAddress,
}

impl ContactUri {
    /// The length of the random user part.
    pub const USERNAME_LEN: usize = 8;

    /// A contact with a fresh random user part at `address`.
    pub fn random(rng: &mut Rng, address: ContactAddress) -> ContactUri {
        ContactUri::new(rng.letters(Self::USERNAME_LEN), address)
    }

    /// A contact with the user part `username` at `address`.
    pub fn new(username: impl Into<String>, address: ContactAddress) -> ContactUri {
        ContactUri {
            username: username.into(),
            address,
        }
    }

    /// The user part.
    pub fn username(&self) -> &str {
        &self.username
    }

    /// The host.
    pub fn domain(&self) -> &str {
        &self.address.host
    }

    /// The local address.
    pub fn address(&self) -> &ContactAddress {
        &self.address
    }

    pub(crate) fn set_address(&mut self, address: ContactAddress) {
        self.address = address;
    }

    /// The contact URI for `transport` (the seed's `contact['udp']`): the transport's port,
    /// and a `transport` parameter for everything but UDP, the default (RFC 3261 §19.1.1).
    pub fn uri(&self, transport: Transport) -> Uri {
        let mut uri = Uri::sip(Some(&self.username), &self.address.host);
        uri.port = self.address.port(transport);
        if transport != Transport::Udp {
            uri.set_param("transport", Some(transport.as_str()));
        }
        uri
    }
}

impl fmt::Display for ContactUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.username, self.address.host)
    }
}

/// What an account authenticates and presents itself with (the seed's `Credentials`): built
/// from the id (or contact), display name and password. `Debug` hides the password.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The digest user name.
    pub username: String,
    /// The digest password (empty for the Bonjour account).
    pub password: String,
    /// The display name put in From.
    pub display_name: Option<String>,
    /// The address put in From.
    pub uri: Uri,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &"********")
            .field("display_name", &self.display_name)
            .field("uri", &self.uri.to_string())
            .finish()
    }
}

impl fmt::Display for Credentials {
    /// The name-addr form, `"Alice" <sip:alice@example.com>` (RFC 3261 §25.1).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.display_name {
            Some(name) => write!(f, "{} <{}>", crate::sip::quote(name), self.uri),
            None => write!(f, "<{}>", self.uri),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contact_uris_per_transport_as_in_the_seed() {
        let address = ContactAddress::new("10.0.0.1")
            .with_port(Transport::Udp, 53024)
            .with_port(Transport::Tls, 54478);
        let c = ContactUri::new("hnfkybrt", address);
        assert_eq!(c.to_string(), "hnfkybrt@10.0.0.1");
        assert_eq!(
            c.uri(Transport::Udp).to_string(),
            "sip:hnfkybrt@10.0.0.1:53024"
        );
        assert_eq!(
            c.uri(Transport::Tls).to_string(),
            "sip:hnfkybrt@10.0.0.1:54478;transport=tls"
        );
        assert_eq!(
            c.uri(Transport::Ws).to_string(),
            "sip:hnfkybrt@10.0.0.1;transport=ws"
        );
    }

    #[test]
    fn random_parts_are_lowercase_letters() {
        let mut rng = Rng::from_seed(1);
        let address = ContactAddress::random_invalid(&mut rng);
        let c = ContactUri::random(&mut rng, address);
        assert_eq!(c.username().len(), 8);
        assert!(c.username().bytes().all(|b| b.is_ascii_lowercase()));
        assert!(c.domain().ends_with(".invalid"));
    }
}
