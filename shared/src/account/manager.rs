//! The account manager (the seed's `AccountManager`): loading, listing, finding, adding and
//! removing accounts, the default account, and activation on start and stop.

use super::bonjour::BonjourAccount;
use super::contact::{ContactAddress, ContactUri};
use super::sip_account::Account;
use super::{AccountError, AccountEvent, AccountRef};
use crate::rng::Rng;
use crate::settings::{
    keys, AccountSettings, BonjourSettings, Problem, SettingsError, SettingsObject, Storage,
    ValidationError,
};
use crate::sip::{pct_decode, Uri};

/// What [`AccountManager::start`] did.
#[derive(Debug, Clone, PartialEq)]
pub struct StartReport {
    /// The notifications, in order: each account added, the default account, each account
    /// activated.
    pub events: Vec<AccountEvent>,
    /// Stored documents that could not be loaded (unreadable or invalid); the others loaded.
    pub skipped: Vec<SettingsError>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Not started: nothing loaded.
    Idle,
    /// Started: accounts loaded and active when enabled.
    Running,
    /// Stopped after a start: accounts loaded, all inactive.
    Stopped,
}

/// Keeps track of the accounts (the seed's `AccountManager`).
///
/// Lifecycle: [`start`](Self::start) loads the accounts from storage and activates the
/// enabled ones, [`stop`](Self::stop) deactivates them all, and `start` again reactivates them
/// (without reloading). Every mutating method returns the notifications it causes, in order.
#[derive(Debug, Clone)]
pub struct AccountManager {
    state: State,
    rng: Rng,
    address: ContactAddress,
    bonjour: BonjourAccount,
    accounts: Vec<Account>,
    default: Option<String>,
}

impl AccountManager {
    /// A manager whose random contact user parts and contact host (`<random>.invalid`, RFC
    /// 7118 §5) come from a generator seeded with `seed`.
    pub fn new(seed: u64) -> AccountManager {
        let mut rng = Rng::from_seed(seed);
        let address = ContactAddress::random_invalid(&mut rng);
        AccountManager::with_contact_address(rng, address)
    }

    /// A manager with the local contact `address` and the generator `rng`.
    pub fn with_contact_address(mut rng: Rng, address: ContactAddress) -> AccountManager {
        let bonjour = BonjourAccount::with_defaults(ContactUri::random(&mut rng, address.clone()));
        AccountManager {
            state: State::Idle,
            rng,
            address,
            bonjour,
            accounts: Vec::new(),
            default: None,
        }
    }

    /// The local contact address.
    pub fn contact_address(&self) -> &ContactAddress {
        &self.address
    }

    /// Changes the local contact address of every account (the network changed, the shell
    /// bound its sockets); the random user parts stay.
    pub fn set_contact_address(&mut self, address: ContactAddress) {
        self.bonjour.set_contact_address(address.clone());
        for account in &mut self.accounts {
            account.set_contact_address(address.clone());
        }
        self.address = address;
    }

    /// `true` between [`start`](Self::start) and [`stop`](Self::stop).
    pub fn is_running(&self) -> bool {
        self.state == State::Running
    }

    /// Loads the Bonjour account, the SIP accounts (sorted by id) and the default account
    /// from `storage`, then activates the enabled accounts. After a [`stop`](Self::stop) it
    /// only reactivates; while running it does nothing.
    ///
    /// A document that cannot be loaded is skipped and reported; a Bonjour document that
    /// cannot be loaded is replaced by the defaults.
    pub fn start<S: Storage + ?Sized>(&mut self, storage: &S) -> StartReport {
        let mut report = StartReport {
            events: Vec::new(),
            skipped: Vec::new(),
        };
        match self.state {
            State::Running => return report,
            State::Stopped => {}
            State::Idle => self.load(storage, &mut report),
        }
        self.state = State::Running;
        report.events.extend(self.update_all());
        report
    }

    fn load<S: Storage + ?Sized>(&mut self, storage: &S, report: &mut StartReport) {
        match SettingsObject::<BonjourSettings>::load(keys::BONJOUR, storage) {
            Ok(Some(settings)) => {
                let contact = self.bonjour.contact_uri().clone();
                self.bonjour = BonjourAccount::new(settings, contact);
            }
            Ok(None) => {}
            Err(e) => report.skipped.push(e),
        }
        report
            .events
            .push(AccountEvent::SIPAccountManagerDidAddAccount {
                account: BonjourAccount::ID.to_string(),
            });
        let mut keys: Vec<String> = storage
            .keys()
            .into_iter()
            .filter(|k| keys::account_id(k).is_some())
            .collect();
        keys.sort();
        for key in keys {
            match load_account(&key, storage) {
                Ok(Some(settings)) => {
                    let contact = self.new_contact();
                    let account = Account::new(settings, contact);
                    report
                        .events
                        .push(AccountEvent::SIPAccountManagerDidAddAccount {
                            account: account.id().to_string(),
                        });
                    self.accounts.push(account);
                }
                Ok(None) => {}
                Err(e) => report.skipped.push(e),
            }
        }
        let stored = storage
            .load(keys::DEFAULT_ACCOUNT)
            .filter(|id| self.has_id(id));
        let default = stored.or_else(|| self.first_sip_id());
        report.events.extend(self.change_default(default));
    }

    /// Deactivates every active account.
    pub fn stop(&mut self) -> Vec<AccountEvent> {
        if self.state != State::Running {
            return Vec::new();
        }
        self.state = State::Stopped;
        self.update_all()
    }

    /// Brings every account's activation in line with its flag and the state.
    fn update_all(&mut self) -> Vec<AccountEvent> {
        let running = self.is_running();
        let mut events = Vec::new();
        events.extend(self.bonjour.update_activation(running));
        for account in &mut self.accounts {
            events.extend(account.update_activation(running));
        }
        events
    }

    /// A contact with a user part no other account uses.
    fn new_contact(&mut self) -> ContactUri {
        loop {
            let contact = ContactUri::random(&mut self.rng, self.address.clone());
            let taken = self.bonjour.contact_uri().username() == contact.username()
                || self
                    .accounts
                    .iter()
                    .any(|a| a.contact_uri().username() == contact.username());
            if !taken {
                return contact;
            }
        }
    }

    fn loaded(&self) -> Result<(), AccountError> {
        match self.state {
            State::Idle => Err(AccountError::NotStarted),
            State::Running | State::Stopped => Ok(()),
        }
    }

    fn has_id(&self, id: &str) -> bool {
        id == BonjourAccount::ID || self.accounts.iter().any(|a| a.id().as_str() == id)
    }

    fn first_sip_id(&self) -> Option<String> {
        self.accounts.first().map(|a| a.id().to_string())
    }

    fn position(&self, id: &str) -> Option<usize> {
        self.accounts.iter().position(|a| a.id().as_str() == id)
    }

    /// `true` when an account with this id exists (the Bonjour account once started).
    pub fn has_account(&self, id: &str) -> bool {
        self.state != State::Idle && self.has_id(id)
    }

    /// The account with this id (the seed raises `KeyError` where this returns `None`).
    pub fn get_account(&self, id: &str) -> Option<AccountRef<'_>> {
        self.iter_accounts().find(|a| a.id().as_str() == id)
    }

    /// The SIP account with this id.
    pub fn account(&self, id: &str) -> Option<&Account> {
        self.accounts.iter().find(|a| a.id().as_str() == id)
    }

    /// The SIP account with this id, to [`edit`](Account::edit) its settings.
    pub fn account_mut(&mut self, id: &str) -> Option<&mut Account> {
        self.accounts.iter_mut().find(|a| a.id().as_str() == id)
    }

    /// The Bonjour account.
    pub fn bonjour_account(&self) -> &BonjourAccount {
        &self.bonjour
    }

    /// The Bonjour account, to [`edit`](BonjourAccount::edit) its settings.
    pub fn bonjour_account_mut(&mut self) -> &mut BonjourAccount {
        &mut self.bonjour
    }

    /// Every managed account: the Bonjour account, then the SIP accounts in the order they
    /// were loaded or added. Empty before [`start`](Self::start).
    pub fn get_accounts(&self) -> Vec<AccountRef<'_>> {
        self.iter_accounts().collect()
    }

    /// Iterates over the managed accounts in the order of [`get_accounts`](Self::get_accounts).
    pub fn iter_accounts(&self) -> impl Iterator<Item = AccountRef<'_>> {
        let loaded = self.state != State::Idle;
        loaded
            .then_some(AccountRef::Bonjour(&self.bonjour))
            .into_iter()
            .chain(
                self.accounts
                    .iter()
                    .filter(move |_| loaded)
                    .map(AccountRef::Sip),
            )
    }

    /// The enabled account a request for `contact_uri` (its Request-URI) is meant for: the
    /// one whose contact user part it carries, else the one whose id it is, else one whose id
    /// has its user part. `None` when no enabled account matches.
    pub fn find_account(&self, contact_uri: &Uri) -> Option<AccountRef<'_>> {
        let user = contact_uri.user_decoded()?;
        let same = |name: &str| pct_decode(name) == user;
        let enabled = || self.iter_accounts().filter(|a| a.enabled());
        enabled()
            .find(|a| same(a.contact_uri().username()))
            .or_else(|| {
                enabled().find(|a| {
                    same(a.id().username())
                        && a.id().domain().eq_ignore_ascii_case(&contact_uri.host)
                })
            })
            .or_else(|| enabled().find(|a| same(a.id().username())))
    }

    /// The default account, the one the application uses when it is not told which.
    pub fn default_account(&self) -> Option<AccountRef<'_>> {
        let id = self.default.as_deref()?;
        self.get_account(id)
    }

    /// Makes `id` (or nobody) the default account and stores the choice.
    pub fn set_default_account<S: Storage + ?Sized>(
        &mut self,
        id: Option<&str>,
        storage: &mut S,
    ) -> Result<Vec<AccountEvent>, AccountError> {
        self.loaded()?;
        if let Some(id) = id {
            if !self.has_id(id) {
                return Err(AccountError::NotFound(id.to_string()));
            }
        }
        if self.default.as_deref() == id {
            return Ok(Vec::new());
        }
        store_default(id, storage)?;
        Ok(self
            .change_default(id.map(str::to_string))
            .into_iter()
            .collect())
    }

    fn change_default(&mut self, id: Option<String>) -> Option<AccountEvent> {
        if self.default == id {
            return None;
        }
        let old_account = std::mem::replace(&mut self.default, id.clone());
        Some(AccountEvent::SIPAccountManagerDidChangeDefaultAccount {
            old_account,
            account: id,
        })
    }

    /// Adds the account `settings` describes and stores it. Notifications: the addition,
    /// the default change if there was no default, the activation if it is enabled and the
    /// application runs.
    pub fn add_account<S: Storage + ?Sized>(
        &mut self,
        settings: AccountSettings,
        storage: &mut S,
    ) -> Result<Vec<AccountEvent>, AccountError> {
        self.loaded()?;
        let id = settings.id.to_string();
        if id == BonjourAccount::ID {
            return Err(AccountError::Bonjour);
        }
        if self.has_id(&id) {
            return Err(AccountError::Exists(id));
        }
        let mut object = SettingsObject::new(keys::account(&id), settings);
        object.save(storage)?;
        if self.default.is_none() {
            if let Err(e) = store_default(Some(&id), storage) {
                // Undo the write so that storage and memory agree; if that fails too, the
                // next start loads the account, which is what the caller tried to do.
                let _ = object.delete(storage);
                return Err(e);
            }
        }
        let contact = self.new_contact();
        let mut account = Account::new(object, contact);
        let mut events = vec![AccountEvent::SIPAccountManagerDidAddAccount {
            account: id.clone(),
        }];
        if self.default.is_none() {
            events.extend(self.change_default(Some(id)));
        }
        events.extend(account.update_activation(self.is_running()));
        self.accounts.push(account);
        Ok(events)
    }

    /// Removes the SIP account `id` and its stored settings. Notifications: its
    /// deactivation if it was active, the removal, and the default change if it was the
    /// default (the first remaining SIP account, or nobody, takes over).
    pub fn remove_account<S: Storage + ?Sized>(
        &mut self,
        id: &str,
        storage: &mut S,
    ) -> Result<Vec<AccountEvent>, AccountError> {
        self.loaded()?;
        if id == BonjourAccount::ID {
            return Err(AccountError::Bonjour);
        }
        let index = self
            .position(id)
            .ok_or_else(|| AccountError::NotFound(id.to_string()))?;
        let was_default = self.default.as_deref() == Some(id);
        let successor = self
            .accounts
            .iter()
            .map(|a| a.id().to_string())
            .find(|other| other != id);
        if was_default {
            store_default(successor.as_deref(), storage)?;
        }
        let mut account = self.accounts.remove(index);
        if let Err(e) = account.delete(storage) {
            if was_default {
                // Best effort: a stale default is ignored at load time anyway.
                let _ = store_default(Some(id), storage);
            }
            self.accounts.insert(index, account);
            return Err(e.into());
        }
        let mut events: Vec<AccountEvent> = account.update_activation(false).into_iter().collect();
        events.push(AccountEvent::SIPAccountManagerDidRemoveAccount {
            account: id.to_string(),
        });
        if was_default {
            events.extend(self.change_default(successor));
        }
        Ok(events)
    }

    /// Saves the pending settings of account `id` (the Bonjour account too). Notifications:
    /// `CFGSettingsObjectDidChange` if something changed, then the activation or
    /// deactivation its `enabled` flag causes.
    pub fn save_account<S: Storage + ?Sized>(
        &mut self,
        id: &str,
        storage: &mut S,
    ) -> Result<Vec<AccountEvent>, AccountError> {
        self.loaded()?;
        let running = self.is_running();
        let (change, activation) = if id == BonjourAccount::ID {
            let change = self.bonjour.save(storage)?;
            (change, self.bonjour.update_activation(running))
        } else {
            let account = self
                .account_mut(id)
                .ok_or_else(|| AccountError::NotFound(id.to_string()))?;
            let change = account.save(storage)?;
            (change, account.update_activation(running))
        };
        let mut events: Vec<AccountEvent> = change
            .map(|change| AccountEvent::CFGSettingsObjectDidChange {
                account: id.to_string(),
                change,
            })
            .into_iter()
            .collect();
        events.extend(activation);
        Ok(events)
    }
}

/// Loads the account under `key`, checking that the document's id is the key's and is not
/// the Bonjour account's.
fn load_account<S: Storage + ?Sized>(
    key: &str,
    storage: &S,
) -> Result<Option<SettingsObject<AccountSettings>>, SettingsError> {
    let Some(object) = SettingsObject::<AccountSettings>::load(key, storage)? else {
        return Ok(None);
    };
    let id = object.settings().id.as_str();
    if keys::account_id(key) != Some(id) || id == BonjourAccount::ID {
        return Err(SettingsError::Invalid {
            key: key.to_string(),
            error: ValidationError::new(
                "id",
                Problem::NotAllowed {
                    value: id.to_string(),
                },
            ),
        });
    }
    Ok(Some(object))
}

fn store_default<S: Storage + ?Sized>(
    id: Option<&str>,
    storage: &mut S,
) -> Result<(), AccountError> {
    match id {
        Some(id) => storage.save(keys::DEFAULT_ACCOUNT, id),
        None => storage.delete(keys::DEFAULT_ACCOUNT),
    }
    .map_err(|e| AccountError::Settings(e.into()))
}
