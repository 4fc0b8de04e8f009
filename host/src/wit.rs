//! Host bindings for the `linli:platform` world `scene`, generated from
//! `wit/`: the ground floor every capability and the runtime stand on. Kept
//! in their own module so generated names never clash with ours.

wasmtime::component::bindgen!({
    path: "../wit",
    world: "scene",
    imports: { default: async },
    exports: { default: async },
});
