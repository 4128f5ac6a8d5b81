//! Per-route OpenAPI metadata: what the route table (`crate::routes`) declares next to each route. Bodies are named
//! by their Rust types ([`Op::body`], [`Op::ok`]); their schemas are derived from those types (`utoipa::ToSchema`),
//! never written here.

use std::borrow::Cow;

use utoipa::ToSchema;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::Schema;

/// A named schema and the ones it references, as collected into `components/schemas`.
pub type Components = Vec<(String, RefOr<Schema>)>;

/// A body type, erased: its component name, its schema and a collector of the schemas it references.
#[derive(Clone, Copy)]
pub struct SchemaOf {
    pub name: fn() -> Cow<'static, str>,
    pub schema: fn() -> RefOr<Schema>,
    pub references: fn(&mut Components),
}

impl SchemaOf {
    pub fn of<T: ToSchema>() -> Self {
        Self { name: T::name, schema: T::schema, references: T::schemas }
    }

    /// Pushes this schema and every schema it references.
    pub fn collect(&self, into: &mut Components) {
        into.push(((self.name)().into_owned(), (self.schema)()));
        (self.references)(into);
    }
}

/// Who may call a route. Both key tiers are bearer tokens; the tier is part of the key text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Auth {
    Public,
    /// Runtime or setup keys.
    Runtime,
    /// Setup keys only.
    Setup,
    /// Runtime or setup keys, or a member credential (which reads only what is addressed to its member).
    RuntimeOrMember,
    /// A member credential only (`allowly_mk_…`): the caller's identity is the member's.
    Member,
}

/// The success body of a route.
#[derive(Clone, Copy)]
pub enum Success {
    Json(SchemaOf),
    /// A body that is not one of our JSON types: its media type and the JSON type its schema names.
    Other {
        media_type: &'static str,
        json_type: &'static str,
    },
    /// No success at all: a route of the official API answered with 501 `not_supported`.
    None,
    /// 204 without a body.
    NoContent,
}

/// A query parameter's schema (query strings are parsed by hand, not into a type).
#[derive(Clone, Copy, Debug)]
pub enum Query {
    String,
    DateTime,
    /// An integer ≥ 0.
    Count,
    /// An integer in `min..=max`.
    Range(i64, i64),
    Boolean,
}

/// One route's operation.
#[derive(Clone)]
pub struct Op {
    pub id: &'static str,
    pub summary: &'static str,
    pub tag: &'static str,
    pub auth: Auth,
    /// The JSON body the route reads, and whether it is required (DELETE bodies are optional).
    pub body: Option<(SchemaOf, bool)>,
    pub query: &'static [(&'static str, Query)],
    pub status: u16,
    pub success: Success,
    /// Error statuses beyond the ones every route with a body or a key has (400/413, 401, 403).
    pub errors: &'static [u16],
    /// The route honours `Idempotency-Key`.
    pub idempotent: bool,
}

impl Op {
    /// Until [`Op::ok`] or [`Op::ok_other`] names the body, the success is an untyped 200 JSON object; the test table
    /// in `openapi/tests.rs` states every route's success type, so a forgotten one fails there.
    fn new(id: &'static str, summary: &'static str, tag: &'static str, auth: Auth) -> Self {
        let success = Success::Other { media_type: "application/json", json_type: "object" };
        Op { id, summary, tag, auth, body: None, query: &[], status: 200, success, errors: &[], idempotent: false }
    }

    /// A route without a key.
    pub fn public(id: &'static str, tag: &'static str, summary: &'static str) -> Self {
        Self::new(id, summary, tag, Auth::Public)
    }

    /// A runtime route (runtime or setup keys).
    pub fn runtime(id: &'static str, summary: &'static str) -> Self {
        Self::new(id, summary, "runtime", Auth::Runtime)
    }

    /// A setup route (setup keys only).
    pub fn setup(id: &'static str, summary: &'static str) -> Self {
        Self::new(id, summary, "setup", Auth::Setup)
    }

    /// A route for API keys and member credentials alike.
    pub fn runtime_or_member(id: &'static str, summary: &'static str) -> Self {
        Self::new(id, summary, "runtime", Auth::RuntimeOrMember)
    }

    /// A route only a member credential may call.
    pub fn member(id: &'static str, summary: &'static str) -> Self {
        Self::new(id, summary, "runtime", Auth::Member)
    }

    /// A route of the official API this server answers with 501 `not_supported` (after authentication).
    pub fn unsupported(id: &'static str, summary: &'static str) -> Self {
        let mut op = Self::new(id, summary, "unsupported", Auth::Runtime);
        op.success = Success::None;
        op.errors = &[501];
        op
    }

    /// The route reads a JSON body of type `T`.
    pub fn body<T: ToSchema>(mut self) -> Self {
        self.body = Some((SchemaOf::of::<T>(), true));
        self
    }

    /// The route reads an optional JSON body of type `T`.
    pub fn optional_body<T: ToSchema>(mut self) -> Self {
        self.body = Some((SchemaOf::of::<T>(), false));
        self
    }

    /// The route answers `status` with a JSON body of type `T`.
    pub fn ok<T: ToSchema>(mut self, status: u16) -> Self {
        self.status = status;
        self.success = Success::Json(SchemaOf::of::<T>());
        self
    }

    /// The route answers 200 with a body that is not one of our JSON types.
    pub fn ok_other(mut self, media_type: &'static str, json_type: &'static str) -> Self {
        self.success = Success::Other { media_type, json_type };
        self
    }

    /// The route answers 204 without a body.
    pub fn no_content(mut self) -> Self {
        self.status = 204;
        self.success = Success::NoContent;
        self
    }

    pub fn query(mut self, query: &'static [(&'static str, Query)]) -> Self {
        self.query = query;
        self
    }

    pub fn errors(mut self, errors: &'static [u16]) -> Self {
        self.errors = errors;
        self
    }

    pub fn idempotent(mut self) -> Self {
        self.idempotent = true;
        self
    }
}
