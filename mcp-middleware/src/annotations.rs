//! MCP tool annotations, and what they mean for the grant a user is offered.
//!
//! The gate never trusts annotations to *allow* anything — the server's decision does that. They only shape the
//! authorization `allowly mcp authorize` proposes, and there "unknown" must mean "cautious": a tool that says nothing
//! about itself is treated like a destructive one.

/// The MCP `ToolAnnotations` hints the gate reads (`readOnlyHint`, `destructiveHint`, …). `None` = not stated.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ToolAnnotations {
    pub read_only: Option<bool>,
    pub destructive: Option<bool>,
    pub idempotent: Option<bool>,
    pub open_world: Option<bool>,
}

/// How a tool's scope is granted in a proposed authorization.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantKind {
    /// Granted outright: the tool says it only reads.
    Plain,
    /// Granted, but every call needs the user's confirmation (`requires_confirm_for`).
    Confirm,
}

impl GrantKind {
    /// `annotations` is `None` when the tool declared no annotations at all.
    ///
    /// Follows the MCP defaults: `readOnlyHint` defaults to false and `destructiveHint` to true, so only an explicit
    /// `readOnlyHint: true`, or an explicit `destructiveHint: false` on a writing tool, avoids confirmation.
    pub fn for_tool(annotations: Option<&ToolAnnotations>) -> GrantKind {
        match annotations {
            None => GrantKind::Confirm,
            Some(a) if a.read_only == Some(true) => GrantKind::Plain,
            Some(a) if a.destructive == Some(false) => GrantKind::Plain,
            Some(_) => GrantKind::Confirm,
        }
    }
}
