//! The Bonjour (peer-to-peer) account (the seed's `BonjourAccount`): a singleton with the id
//! `bonjour@local`, a contact and an enabled flag. Its activation and its notifications
//! live here; the mDNS announcement and browsing are [`crate::mdns`], driven by the native
//! shell (`sipsimple::native::Bonjour`): a browser cannot send multicast.

use super::contact::{ContactAddress, ContactUri, Credentials};
use super::sip_account::update;
use super::AccountEvent;
use crate::mdns::{self, Neighbour};
use crate::settings::{
    keys, BonjourSettings, SettingsChange, SettingsError, SettingsObject, SipAddress, Storage,
    Transport,
};
use crate::sip::Uri;
use crate::ua::AccountConfig;
use serde::Serialize;

/// What the Bonjour account reports about its neighbours, with python-sipsimple's
/// notification names (sender: the Bonjour account). Serialised as the bus serialises
/// notifications, `{"name": ..., "data": {...}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "name", content = "data")]
#[allow(clippy::enum_variant_names)]
#[non_exhaustive]
pub enum BonjourEvent {
    /// A neighbour announced itself (data: `neighbour`, `uri`, `display_name`, `host`, `id`).
    BonjourAccountDidAddNeighbour(Neighbour),
    /// A neighbour's announcement changed.
    BonjourAccountDidUpdateNeighbour(Neighbour),
    /// A neighbour said goodbye, or its records expired.
    BonjourAccountDidRemoveNeighbour(Neighbour),
    /// Discovery failed (the socket could not be opened or failed).
    BonjourAccountDiscoveryDidFail {
        /// What went wrong.
        reason: String,
    },
}

impl BonjourEvent {
    /// The notification name.
    pub fn name(&self) -> &'static str {
        match self {
            BonjourEvent::BonjourAccountDidAddNeighbour(_) => "BonjourAccountDidAddNeighbour",
            BonjourEvent::BonjourAccountDidUpdateNeighbour(_) => "BonjourAccountDidUpdateNeighbour",
            BonjourEvent::BonjourAccountDidRemoveNeighbour(_) => "BonjourAccountDidRemoveNeighbour",
            BonjourEvent::BonjourAccountDiscoveryDidFail { .. } => "BonjourAccountDiscoveryDidFail",
        }
    }

    /// The neighbour it is about, if any.
    pub fn neighbour(&self) -> Option<&Neighbour> {
        match self {
            BonjourEvent::BonjourAccountDidAddNeighbour(n)
            | BonjourEvent::BonjourAccountDidUpdateNeighbour(n)
            | BonjourEvent::BonjourAccountDidRemoveNeighbour(n) => Some(n),
            BonjourEvent::BonjourAccountDiscoveryDidFail { .. } => None,
        }
    }
}

impl From<mdns::Event> for BonjourEvent {
    fn from(e: mdns::Event) -> Self {
        match e {
            mdns::Event::Added(n) => BonjourEvent::BonjourAccountDidAddNeighbour(n),
            mdns::Event::Updated(n) => BonjourEvent::BonjourAccountDidUpdateNeighbour(n),
            mdns::Event::Removed(n) => BonjourEvent::BonjourAccountDidRemoveNeighbour(n),
        }
    }
}

/// The Bonjour account. There is one per [`AccountManager`](super::AccountManager).
#[derive(Debug, Clone)]
pub struct BonjourAccount {
    id: SipAddress,
    settings: SettingsObject<BonjourSettings>,
    contact: ContactUri,
    active: bool,
}

impl BonjourAccount {
    /// The Bonjour account's id.
    pub const ID: &'static str = "bonjour@local";

    pub(crate) fn new(settings: SettingsObject<BonjourSettings>, contact: ContactUri) -> Self {
        BonjourAccount {
            id: SipAddress::new(Self::ID),
            settings,
            contact,
            active: false,
        }
    }

    /// A Bonjour account with default settings, not stored yet.
    pub(crate) fn with_defaults(contact: ContactUri) -> Self {
        Self::new(
            SettingsObject::new(keys::BONJOUR, BonjourSettings::default()),
            contact,
        )
    }

    /// `bonjour@local`.
    pub fn id(&self) -> &SipAddress {
        &self.id
    }

    /// The saved settings: the ones in effect.
    pub fn settings(&self) -> &BonjourSettings {
        self.settings.settings()
    }

    /// The pending settings, with edits not saved yet.
    pub fn pending(&self) -> &BonjourSettings {
        self.settings.pending()
    }

    /// Edits the pending settings; save them with
    /// [`AccountManager::save_account`](super::AccountManager::save_account).
    pub fn edit(&mut self) -> &mut BonjourSettings {
        self.settings.edit()
    }

    /// The names of the settings edited and not saved.
    pub fn modified(&self) -> Vec<String> {
        self.settings.modified()
    }

    /// Drops the pending edits.
    pub fn revert(&mut self) {
        self.settings.revert();
    }

    /// The saved `enabled` flag.
    pub fn enabled(&self) -> bool {
        self.settings().enabled
    }

    /// The saved display name.
    pub fn display_name(&self) -> Option<&str> {
        self.settings().display_name.as_deref()
    }

    /// `true` while the account is active (enabled and the application running).
    pub fn is_active(&self) -> bool {
        self.active
    }

    /// The contact (random user part at the local address).
    pub fn contact_uri(&self) -> &ContactUri {
        &self.contact
    }

    /// The Contact URI for `transport`.
    pub fn contact(&self, transport: Transport) -> Uri {
        self.contact.uri(transport)
    }

    /// The credentials: the contact's user part and address, the display name and an empty
    /// password, as the seed says.
    pub fn credentials(&self) -> Credentials {
        Credentials {
            username: self.contact.username().to_string(),
            password: String::new(),
            display_name: self.settings().display_name.clone(),
            uri: Uri::sip(Some(self.contact.username()), self.contact.domain()),
        }
    }

    /// The user agent's configuration for this account: id `bonjour@local` (the sender of
    /// its notifications and the From of its calls), its display name, no password and
    /// no registration, and the contact's user part; sessions go straight to a neighbour's
    /// contact URI. The shell adds the transport and the local address.
    pub fn account_config(&self) -> AccountConfig {
        let mut cfg = AccountConfig::new(Self::ID, "");
        cfg.display_name = self.settings().display_name.clone();
        cfg.contact_user = Some(self.contact.username().to_string());
        cfg
    }

    pub(crate) fn set_contact_address(&mut self, address: ContactAddress) {
        self.contact.set_address(address);
    }

    pub(crate) fn save<S: Storage + ?Sized>(
        &mut self,
        storage: &mut S,
    ) -> Result<Option<SettingsChange>, SettingsError> {
        self.settings.save(storage)
    }

    pub(crate) fn update_activation(&mut self, running: bool) -> Option<AccountEvent> {
        let want = running && self.enabled();
        update(&mut self.active, want, Self::ID)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn neighbour_events_have_python_sipsimple_names_and_data() {
        let n = Neighbour {
            neighbour: "sip:a@127.0.0.2:5060._sipuri._udp.local.".into(),
            uri: "sip:a@127.0.0.2:5060".into(),
            display_name: Some("A".into()),
            host: "h".into(),
            id: None,
        };
        let e = BonjourEvent::from(mdns::Event::Added(n));
        let v = serde_json::to_value(&e).expect("serialise");
        assert_eq!(v["name"], "BonjourAccountDidAddNeighbour");
        assert_eq!(v["data"]["uri"], "sip:a@127.0.0.2:5060");
        assert_eq!(v["data"]["display_name"], "A");
        assert_eq!(e.name(), "BonjourAccountDidAddNeighbour");
        assert_eq!(e.neighbour().map(|n| n.host.as_str()), Some("h"));
    }

    #[test]
    fn the_user_agent_config_is_the_bonjour_id_without_password() {
        let mut rng = crate::rng::Rng::from_seed(1);
        let contact = ContactUri::random(&mut rng, ContactAddress::new("127.0.0.1".to_string()));
        let mut b = BonjourAccount::with_defaults(contact);
        b.settings.edit().display_name = Some("Me".into());
        let _ = b.settings.save(&mut crate::settings::MemoryStorage::new());
        let cfg = b.account_config();
        assert_eq!(cfg.id, "bonjour@local");
        assert_eq!(cfg.display_name.as_deref(), Some("Me"));
        assert!(cfg.password.is_empty());
        assert_eq!(
            cfg.contact_user.as_deref(),
            Some(b.contact_uri().username())
        );
    }
}
