//! A SIP account (the seed's `Account`): its settings, contact, credentials and activation.

use super::contact::{ContactAddress, ContactUri, Credentials};
use super::AccountEvent;
use crate::settings::{
    AccountSettings, Problem, SettingsChange, SettingsError, SettingsObject, SipAddress, Storage,
    Transport, ValidationError,
};
use crate::sip::Uri;

/// The functions of an account that have their own enabled flag besides the account's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Feature {
    /// Registration (`registration.enabled`).
    Registration,
    /// Presence (`presence.enabled`).
    Presence,
    /// Dialog-info (`dialog_event.enabled`).
    DialogEvent,
    /// Message summary (`message_summary.enabled`).
    MessageSummary,
}

/// A SIP account, identified by its id `user@domain`.
///
/// Its settings follow [`SettingsObject`] semantics: [`edit`](Self::edit) changes the pending
/// copy and nothing takes effect until the [`AccountManager`](super::AccountManager) saves
/// it. The account is *active* exactly when its saved `enabled` flag is set and the
/// application is running.
#[derive(Debug, Clone)]
pub struct Account {
    settings: SettingsObject<AccountSettings>,
    contact: ContactUri,
    active: bool,
}

impl Account {
    pub(crate) fn new(settings: SettingsObject<AccountSettings>, contact: ContactUri) -> Account {
        Account {
            settings,
            contact,
            active: false,
        }
    }

    /// The SIP id (`alice@example.com`; `.username()` and `.domain()` give its parts).
    pub fn id(&self) -> &SipAddress {
        &self.settings.settings().id
    }

    /// The saved settings: the ones in effect.
    pub fn settings(&self) -> &AccountSettings {
        self.settings.settings()
    }

    /// The pending settings, with edits not saved yet.
    pub fn pending(&self) -> &AccountSettings {
        self.settings.pending()
    }

    /// Edits the pending settings; save them with
    /// [`AccountManager::save_account`](super::AccountManager::save_account).
    pub fn edit(&mut self) -> &mut AccountSettings {
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

    /// `true` when `feature` should run: the account is active and the feature's own flag
    /// is set.
    pub fn feature_active(&self, feature: Feature) -> bool {
        let s = self.settings();
        self.active
            && match feature {
                Feature::Registration => s.registration.enabled,
                Feature::Presence => s.presence.enabled,
                Feature::DialogEvent => s.dialog_event.enabled,
                Feature::MessageSummary => s.message_summary.enabled,
            }
    }

    /// The contact (random user part at the local address).
    pub fn contact_uri(&self) -> &ContactUri {
        &self.contact
    }

    /// The Contact URI for `transport` (the seed's `account.contact['tls']`).
    pub fn contact(&self, transport: Transport) -> Uri {
        self.contact.uri(transport)
    }

    /// The credentials built from the saved id, display name, password and auth user name.
    pub fn credentials(&self) -> Credentials {
        let s = self.settings();
        Credentials {
            username: s
                .auth_username
                .clone()
                .unwrap_or_else(|| s.id.username().to_string()),
            password: s.password.clone(),
            display_name: s.display_name.clone(),
            uri: Uri::sip(Some(s.id.username()), s.id.domain()),
        }
    }

    pub(crate) fn set_contact_address(&mut self, address: ContactAddress) {
        self.contact.set_address(address);
    }

    /// Saves the pending settings; the id cannot change.
    pub(crate) fn save<S: Storage + ?Sized>(
        &mut self,
        storage: &mut S,
    ) -> Result<Option<SettingsChange>, SettingsError> {
        if self.pending().id != self.settings().id {
            return Err(SettingsError::Invalid {
                key: self.settings.key().to_string(),
                error: ValidationError::new("id", Problem::Immutable),
            });
        }
        self.settings.save(storage)
    }

    /// Removes the account's settings from storage.
    pub(crate) fn delete<S: Storage + ?Sized>(
        &mut self,
        storage: &mut S,
    ) -> Result<(), SettingsError> {
        self.settings.delete(storage)
    }

    /// Activates or deactivates the account so that it is active exactly when it is enabled
    /// and the application is `running`; returns the notification of the change, if any.
    pub(crate) fn update_activation(&mut self, running: bool) -> Option<AccountEvent> {
        let want = running && self.enabled();
        let id = self.settings.settings().id.as_str();
        update(&mut self.active, want, id)
    }
}

/// Flips `active` to `want` and says so.
pub(crate) fn update(active: &mut bool, want: bool, id: &str) -> Option<AccountEvent> {
    if *active == want {
        return None;
    }
    *active = want;
    let account = id.to_string();
    Some(if want {
        AccountEvent::SIPAccountDidActivate { account }
    } else {
        AccountEvent::SIPAccountDidDeactivate { account }
    })
}
