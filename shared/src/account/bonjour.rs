//! The Bonjour (peer-to-peer) account (the seed's `BonjourAccount`): a singleton with the id
//! `bonjour@local`, a contact and an enabled flag. Only its activation lives here; the mDNS
//! announcement belongs to the native shell.

use super::contact::{ContactAddress, ContactUri, Credentials};
use super::sip_account::update;
use super::AccountEvent;
use crate::settings::{
    keys, BonjourSettings, SettingsChange, SettingsError, SettingsObject, SipAddress, Storage,
    Transport,
};
use crate::sip::Uri;

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
