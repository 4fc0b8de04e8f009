//! The [`Scene`] trait and the adapter that exports it as the `scene` world.
//!
//! The generated `Guest` trait speaks the wire format: config, command input
//! and command output are JSON strings. A vendor should think in typed config
//! and JSON values instead, so [`export_scene!`](crate::export_scene) defines a
//! small exporter that implements `Guest` by calling the functions in
//! [`adapter`], which parse, keep and hand over the config and translate JSON
//! in both directions.
//!
//! The parsed config is the only thing kept in memory between calls. The host
//! calls `init` on every new instance before anything else, so it is always
//! there; it is kept type-erased because a `static` cannot be generic over the
//! plugin's config type.

use serde::de::DeserializeOwned;
use serde::Deserialize;

use crate::{json, Caller, Error, Event};

/// A community scene: domain logic reacting to events and answering commands.
///
/// Implement it on a unit struct and export it with
/// [`export_scene!`](crate::export_scene). Every function receives the
/// installation's config, parsed once per instance. Keep durable state in
/// [`state`](crate::state), never in statics: the host may replace an instance
/// between any two calls.
pub trait Scene {
    /// The installation's config, decoded from the JSON that the host has
    /// already validated against the manifest's `config-schema`.
    ///
    /// Use [`NoConfig`] for a scene without settings.
    type Config: DeserializeOwned + 'static;

    /// Checks the config beyond what the schema can say; called on every new
    /// instance, after the config is parsed and before any event or command.
    ///
    /// Because it runs for every instance, it is no place for one-time setup
    /// such as scheduling timers: do that on [`Lifecycle::Installed`](crate::Lifecycle).
    /// The default accepts every config.
    fn init(config: &Self::Config) -> Result<(), Error> {
        let _ = config;
        Ok(())
    }

    /// Handles one event. Store writes made here commit only if it returns `Ok`.
    fn on_event(config: &Self::Config, event: Event) -> Result<(), Error>;

    /// Answers the command `name` from `caller`, who was authenticated by the host.
    ///
    /// `input` is the command's JSON input; decode it with [`parse_input`] to
    /// get errors that name the offending field. The returned value is sent
    /// back as JSON.
    fn on_command(
        config: &Self::Config,
        caller: &Caller,
        name: &str,
        input: serde_json::Value,
    ) -> Result<serde_json::Value, Error>;
}

/// The config of a scene that has no settings: accepts any JSON object.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
pub struct NoConfig {}

/// Decodes a command's `input` as `T`.
///
/// A mismatch becomes [`Error::Invalid`] naming the field path, for example
/// ``command input at `window.minutes`: invalid type: string "5", expected u32``.
pub fn parse_input<T: DeserializeOwned>(input: serde_json::Value) -> Result<T, Error> {
    json::from_value("command input", input)
}

/// Exports a [`Scene`] as the plugin's implementation of the `scene` world.
///
/// Invoke it once, at the top level of the plugin crate:
/// `linli_sdk::export_scene!(MyScene);`. The plugin needs no dependency on
/// `wit-bindgen`: the generated exports come from [`linli_sdk::bindings`](crate::bindings).
#[macro_export]
macro_rules! export_scene {
    ($scene:ty) => {
        const _: () = {
            /// Implements the generated world exports by delegating to the scene.
            struct LinliSceneExport;

            impl $crate::bindings::Guest for LinliSceneExport {
                fn init(
                    config: ::std::string::String,
                ) -> ::core::result::Result<(), $crate::Error> {
                    $crate::__adapter::init::<$scene>(&config)
                }

                fn on_event(event: $crate::Event) -> ::core::result::Result<(), $crate::Error> {
                    $crate::__adapter::on_event::<$scene>(event)
                }

                fn on_command(
                    caller: $crate::Caller,
                    name: ::std::string::String,
                    input: ::std::string::String,
                ) -> ::core::result::Result<::std::string::String, $crate::Error> {
                    $crate::__adapter::on_command::<$scene>(&caller, &name, &input)
                }
            }

            $crate::bindings::export! { LinliSceneExport with_types_in $crate::bindings }
        };
    };
}

/// What [`export_scene!`](crate::export_scene) expands to call; not a public API.
pub mod adapter {
    use std::any::Any;
    use std::cell::RefCell;

    use super::Scene;
    use crate::{json, Caller, Error, Event};

    thread_local! {
        /// This instance's parsed config, a `Box<S::Config>` for the exported scene `S`.
        static CONFIG: RefCell<Option<Box<dyn Any>>> = const { RefCell::new(None) };
    }

    /// Parses `config`, lets the scene check it, and keeps it for this instance.
    pub fn init<S: Scene>(config: &str) -> Result<(), Error> {
        let config: S::Config = json::from_str("config", config)?;
        S::init(&config)?;
        CONFIG.set(Some(Box::new(config)));
        Ok(())
    }

    /// Hands `event` to the scene with this instance's config.
    pub fn on_event<S: Scene>(event: Event) -> Result<(), Error> {
        with_config::<S, _>(|config| S::on_event(config, event))
    }

    /// Parses `input`, hands the command to the scene, and serialises its answer.
    pub fn on_command<S: Scene>(caller: &Caller, name: &str, input: &str) -> Result<String, Error> {
        let input: serde_json::Value = json::from_str("command input", input)?;
        let output = with_config::<S, _>(|config| S::on_command(config, caller, name, input))?;
        Ok(output.to_string())
    }

    fn with_config<S: Scene, R>(
        handle: impl FnOnce(&S::Config) -> Result<R, Error>,
    ) -> Result<R, Error> {
        CONFIG.with_borrow(|config| {
            let config = config
                .as_ref()
                .and_then(|config| config.downcast_ref::<S::Config>())
                .ok_or_else(|| {
                    Error::Internal("the host delivered a call before `init` succeeded".into())
                })?;
            handle(config)
        })
    }
}
