//! Settings documents: storage round trips, `save()` change reports and validation errors.

use serde_json::json;
use sipsimple::settings::object::REDACTED;
use sipsimple::settings::{
    keys, AccountSettings, BonjourSettings, GeneralSettings, MemoryStorage, Problem, Route,
    SettingsError, SettingsObject, SipAddress, Storage, StorageError, Transport, Validate,
};

/// A store that refuses writes while `broken` is set.
#[derive(Default)]
struct FlakyStorage {
    inner: MemoryStorage,
    broken: bool,
    writes: usize,
}

impl Storage for FlakyStorage {
    fn load(&self, key: &str) -> Option<String> {
        self.inner.load(key)
    }
    fn save(&mut self, key: &str, value: &str) -> Result<(), StorageError> {
        if self.broken {
            return Err(StorageError::new("quota exceeded"));
        }
        self.writes += 1;
        self.inner.save(key, value)
    }
    fn delete(&mut self, key: &str) -> Result<(), StorageError> {
        if self.broken {
            return Err(StorageError::new("read-only"));
        }
        self.inner.delete(key)
    }
    fn keys(&self) -> Vec<String> {
        self.inner.keys()
    }
}

fn full_account() -> AccountSettings {
    let mut s = AccountSettings::new("alice@example.com");
    s.display_name = Some("Alice Liddell".into());
    s.password = "s3cret".into();
    s.enabled = true;
    s.auth_username = Some("alice-auth".into());
    s.registration.expires = 1800;
    s.presence.enabled = true;
    s.message_summary.enabled = true;
    s.sip.outbound_proxy = vec![
        Route {
            host: "proxy.example.com".into(),
            port: Some(5061),
            transport: Transport::Tls,
        },
        Route::new("[2001:db8::1]", Transport::Udp),
    ];
    s.sip.transports = vec![Transport::Tls, Transport::Udp];
    s.audio.codec_list = vec!["PCMU".into()];
    s.chat.msrp_relay = Some(Route::new("relay.example.com", Transport::Tls));
    s
}

#[test]
fn account_settings_round_trip_through_memory_storage() {
    let mut store = MemoryStorage::new();
    let key = keys::account("alice@example.com");
    let mut object = SettingsObject::new(key.clone(), full_account());
    assert!(!object.is_stored());
    assert_eq!(
        object.save(&mut store),
        Ok(None),
        "a first save reports no change"
    );
    assert!(object.is_stored());
    let loaded = SettingsObject::<AccountSettings>::load(&key, &store)
        .expect("readable")
        .expect("present");
    assert_eq!(loaded.settings(), &full_account());
    assert_eq!(loaded.settings().id.username(), "alice");
    assert_eq!(loaded.settings().id.domain(), "example.com");
    assert!(loaded.is_stored());
}

#[test]
fn general_and_bonjour_settings_round_trip() {
    let mut store = MemoryStorage::new();
    let mut general = SettingsObject::<GeneralSettings>::load_or_default(keys::GENERAL, &store)
        .expect("absent is fine");
    assert!(!general.is_stored());
    general.edit().audio.sample_rate = 16_000;
    general.edit().sip.transports = vec![Transport::Wss];
    general.edit().user_agent = "Blink".into();
    let change = general.save(&mut store).expect("valid").expect("changed");
    assert_eq!(
        change.names(),
        ["audio.sample_rate", "sip.transports", "user_agent"]
    );
    let mut bonjour = SettingsObject::new(keys::BONJOUR, BonjourSettings::default());
    bonjour.edit().enabled = true;
    bonjour.save(&mut store).expect("valid");
    let g2 = SettingsObject::<GeneralSettings>::load_or_default(keys::GENERAL, &store)
        .expect("readable");
    assert_eq!(g2.settings(), general.settings());
    let b2 = SettingsObject::<BonjourSettings>::load(keys::BONJOUR, &store)
        .expect("readable")
        .expect("present");
    assert!(b2.settings().enabled);
    assert_eq!(store.keys(), ["bonjour", "general"]);
}

#[test]
fn save_reports_the_modified_settings_with_old_and_new_values() {
    let mut store = MemoryStorage::new();
    let mut object = SettingsObject::new(keys::account("a@b.c"), AccountSettings::new("a@b.c"));
    object.save(&mut store).expect("valid");
    object.edit().enabled = true;
    object.edit().registration.enabled = false;
    object.edit().display_name = Some("A".into());
    object.edit().password = "pw".into();
    object
        .edit()
        .sip
        .outbound_proxy
        .push(Route::new("p.b.c", Transport::Tcp));
    assert!(object.is_modified());
    assert_eq!(
        object.modified(),
        [
            "display_name",
            "enabled",
            "password",
            "registration.enabled",
            "sip.outbound_proxy"
        ]
    );
    assert!(!object.settings().enabled, "edits take effect on save only");
    let change = object.save(&mut store).expect("valid").expect("changed");
    assert_eq!(change.name(), "CFGSettingsObjectDidChange");
    assert_eq!(change.key, "account:a@b.c");
    let enabled = change.get("enabled").expect("enabled changed");
    assert_eq!((&enabled.old, &enabled.new), (&json!(false), &json!(true)));
    let reg = change.get("registration.enabled").expect("changed");
    assert_eq!((&reg.old, &reg.new), (&json!(true), &json!(false)));
    let name = change.get("display_name").expect("changed");
    assert_eq!((&name.old, &name.new), (&json!(null), &json!("A")));
    let proxy = change.get("sip.outbound_proxy").expect("changed");
    assert_eq!(
        proxy.new,
        json!([{"host": "p.b.c", "port": null, "transport": "tcp"}])
    );
    let password = change.get("password").expect("changed");
    assert_eq!(password.new, json!(REDACTED), "secrets are not reported");
    assert!(object.settings().enabled);
    assert!(!object.is_modified());
    assert!(object.modified().is_empty());
}

#[test]
fn saving_without_changes_reports_and_writes_nothing() {
    let mut store = FlakyStorage::default();
    let mut object = SettingsObject::new(keys::GENERAL, GeneralSettings::default());
    object.save(&mut store).expect("first save");
    assert_eq!(store.writes, 1);
    assert_eq!(object.save(&mut store), Ok(None));
    object.edit().chat.iscomposing_refresh = 60;
    object.edit().chat.iscomposing_refresh = 120;
    assert_eq!(
        object.save(&mut store),
        Ok(None),
        "changed back before saving"
    );
    assert_eq!(store.writes, 1);
}

#[test]
fn revert_drops_pending_edits() {
    let mut object = SettingsObject::new(keys::BONJOUR, BonjourSettings::default());
    object.edit().enabled = true;
    object.revert();
    assert!(!object.is_modified());
    assert!(!object.pending().enabled);
}

#[test]
fn a_failed_save_keeps_the_edits_pending() {
    let mut store = FlakyStorage::default();
    let mut object = SettingsObject::new(keys::BONJOUR, BonjourSettings::default());
    object.save(&mut store).expect("first save");
    object.edit().enabled = true;
    store.broken = true;
    let err = object.save(&mut store).expect_err("the store refuses");
    assert_eq!(
        err,
        SettingsError::Storage(StorageError::new("quota exceeded"))
    );
    assert!(!object.settings().enabled);
    assert_eq!(object.modified(), ["enabled"]);
    store.broken = false;
    let change = object.save(&mut store).expect("retry").expect("changed");
    assert_eq!(change.names(), ["enabled"]);
}

/// Breaks one setting of an otherwise valid document.
type Breaker = Box<dyn Fn(&mut AccountSettings)>;

#[test]
fn invalid_settings_are_refused_naming_the_field() {
    let cases: Vec<(&str, Breaker)> = vec![
        ("id", Box::new(|s| s.id = SipAddress::new("not-an-address"))),
        ("id", Box::new(|s| s.id = SipAddress::new(""))),
        (
            "display_name",
            Box::new(|s| s.display_name = Some("A\r\nB".into())),
        ),
        (
            "auth_username",
            Box::new(|s| s.auth_username = Some(String::new())),
        ),
        (
            "registration.expires",
            Box::new(|s| s.registration.expires = 5),
        ),
        (
            "registration.expires",
            Box::new(|s| s.registration.expires = 10_000_000),
        ),
        (
            "sip.outbound_proxy[0].host",
            Box::new(|s| s.sip.outbound_proxy = vec![Route::new("bad host", Transport::Udp)]),
        ),
        (
            "sip.outbound_proxy[1].port",
            Box::new(|s| {
                let mut zero = Route::new("ok.example.com", Transport::Udp);
                zero.port = Some(0);
                s.sip.outbound_proxy = vec![Route::new("a.example.com", Transport::Tcp), zero];
            }),
        ),
        ("sip.transports", Box::new(|s| s.sip.transports.clear())),
        (
            "sip.transports[1]",
            Box::new(|s| s.sip.transports = vec![Transport::Udp, Transport::Udp]),
        ),
        ("audio.codec_list", Box::new(|s| s.audio.codec_list.clear())),
        (
            "audio.codec_list[0]",
            Box::new(|s| s.audio.codec_list = vec!["op us".into()]),
        ),
        (
            "audio.codec_list[1]",
            Box::new(|s| s.audio.codec_list = vec!["PCMU".into(), "pcmu".into()]),
        ),
        (
            "chat.accept_types[0]",
            Box::new(|s| s.chat.accept_types = vec!["text".into()]),
        ),
        (
            "chat.msrp_relay.host",
            Box::new(|s| s.chat.msrp_relay = Some(Route::new("", Transport::Tls))),
        ),
    ];
    for (field, break_it) in cases {
        let mut s = AccountSettings::new("a@b.c");
        break_it(&mut s);
        let err = s.validate().expect_err(field);
        assert_eq!(err.field, field, "{err}");
        let mut object = SettingsObject::new(keys::account("a@b.c"), AccountSettings::new("a@b.c"));
        *object.edit() = s;
        let mut store = MemoryStorage::new();
        let saved = object.save(&mut store).expect_err("refused");
        assert_eq!(saved.validation().map(|e| e.field.as_str()), Some(field));
        assert!(store.is_empty(), "nothing written for {field}");
    }
}

#[test]
fn validation_errors_read_well() {
    let mut s = AccountSettings::new("a@b.c");
    s.registration.expires = 5;
    let err = s.validate().expect_err("too short");
    assert_eq!(
        err.problem,
        Problem::OutOfRange {
            min: 30,
            max: 604_800,
            value: 5
        }
    );
    assert_eq!(
        err.to_string(),
        "registration.expires: must be between 30 and 604800, got 5"
    );
    let mut g = GeneralSettings::default();
    g.audio.sample_rate = 12_345;
    let err = g.validate().expect_err("odd rate");
    assert_eq!(
        err.to_string(),
        "audio.sample_rate: \"12345\" is not allowed"
    );
    let mut object = SettingsObject::new(keys::GENERAL, g);
    let err = object.save(&mut MemoryStorage::new()).expect_err("refused");
    assert_eq!(
        err.to_string(),
        "invalid setting in \"general\": audio.sample_rate: \"12345\" is not allowed"
    );
    let g = GeneralSettings {
        user_agent: " ".into(),
        ..GeneralSettings::default()
    };
    assert_eq!(g.validate().map_err(|e| e.field), Err("user_agent".into()));
    let mut g = GeneralSettings::default();
    g.chat.iscomposing_refresh = 0;
    assert_eq!(
        g.validate().map_err(|e| e.field),
        Err("chat.iscomposing_refresh".into())
    );
    let mut b = BonjourSettings::default();
    b.transports.clear();
    assert_eq!(b.validate().map_err(|e| e.field), Err("transports".into()));
}

#[test]
fn stored_documents_that_are_unreadable_or_invalid_are_errors_naming_the_key() {
    let mut store = MemoryStorage::new();
    store.save("account:x@y.z", "{not json").expect("save");
    match SettingsObject::<AccountSettings>::load("account:x@y.z", &store) {
        Err(SettingsError::Corrupt { key, .. }) => assert_eq!(key, "account:x@y.z"),
        other => panic!("expected Corrupt, got {other:?}"),
    }
    store
        .save(
            "account:x@y.z",
            r#"{"id": "x@y.z", "registration": {"expires": 1}}"#,
        )
        .expect("save");
    match SettingsObject::<AccountSettings>::load("account:x@y.z", &store) {
        Err(SettingsError::Invalid { key, error }) => {
            assert_eq!(key, "account:x@y.z");
            assert_eq!(error.field, "registration.expires");
        }
        other => panic!("expected Invalid, got {other:?}"),
    }
    store
        .save("general", r#"{"user_agent": 42}"#)
        .expect("save");
    assert!(matches!(
        SettingsObject::<GeneralSettings>::load_or_default("general", &store),
        Err(SettingsError::Corrupt { .. })
    ));
    assert_eq!(
        SettingsObject::<GeneralSettings>::load("absent", &store),
        Ok(None)
    );
}

#[test]
fn old_and_new_documents_load_with_defaults_and_unknown_fields_ignored() {
    let mut store = MemoryStorage::new();
    store
        .save(
            "account:bob@example.org",
            r#"{"id": "bob@example.org", "enabled": true, "a_future_setting": {"x": 1},
                "registration": {"enabled": false}}"#,
        )
        .expect("save");
    let object = SettingsObject::<AccountSettings>::load("account:bob@example.org", &store)
        .expect("readable")
        .expect("present");
    let s = object.settings();
    assert!(s.enabled);
    assert!(!s.registration.enabled);
    assert_eq!(s.registration.expires, 600, "missing fields take defaults");
    assert_eq!(s.sip.transports, [Transport::Wss, Transport::Ws]);
    assert!(!s.presence.enabled && !s.dialog_event.enabled && !s.message_summary.enabled);
}

#[test]
fn deleting_a_settings_object_removes_its_key() {
    let mut store = MemoryStorage::new();
    let mut object = SettingsObject::new(keys::GENERAL, GeneralSettings::default());
    object.save(&mut store).expect("save");
    assert_eq!(store.len(), 1);
    object.delete(&mut store).expect("delete");
    assert!(store.is_empty());
    assert!(!object.is_stored());
}

#[test]
fn the_json_shape_uses_the_setting_names() {
    let v = serde_json::to_value(AccountSettings::new("a@b.c")).expect("serialise");
    assert_eq!(v["id"], "a@b.c");
    assert_eq!(v["registration"]["enabled"], true);
    assert_eq!(v["registration"]["expires"], 600);
    assert_eq!(v["presence"]["enabled"], false);
    assert_eq!(v["dialog_event"]["enabled"], false);
    assert_eq!(v["message_summary"]["enabled"], false);
    assert_eq!(v["sip"]["transports"], json!(["wss", "ws"]));
    assert_eq!(v["audio"]["srtp_encryption"], "optional");
}
