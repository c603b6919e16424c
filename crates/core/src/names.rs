//! Stable names for failure kinds: the Lambda `errorType` that `state_machine.asl.json` matches in
//! `ErrorEquals`, the `error` of every dead-letter message, and the outcome in log lines.
//!
//! Each variant's name is written once, in a [`stable_names!`](crate::stable_names) invocation next to the
//! enum; `name()`, the list of every name (for the coverage checks against the state machine and the
//! docs) and the `Diagnostic` conversion are derived from it. An enum that wraps another takes the inner
//! enum's names by composition, never by copy.

/// A value with a stable, machine-matched name.
pub trait StableName {
    /// This value's name, e.g. `Genesys.RateLimited`.
    fn name(&self) -> &'static str;
    /// Every name values of this type can have, in declaration order.
    fn names() -> Vec<&'static str>;
}

/// The most characters of an error message a function reports: Step Functions puts the message into the
/// `Cause` of the state that dead-letters the batch, next to the whole execution input, so it must stay
/// small for that state to stay within the payload budget (`contract::budget::FAILURE_ALLOWANCE`). A
/// serde error can quote a whole input value.
pub const MAX_ERROR_MESSAGE_CHARS: usize = 2000;

/// `error`'s message, cut to [`MAX_ERROR_MESSAGE_CHARS`] (with `…` when cut).
pub fn error_message(error: &dyn std::fmt::Display) -> String {
    let text = error.to_string();
    match text.char_indices().nth(MAX_ERROR_MESSAGE_CHARS) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text,
    }
}

/// Declares the stable name of each variant of an enum, once.
///
/// Leaf variants map to a literal; after a `;`, wrapper variants (one field, another [`StableName`]
/// type) take their names from the inner value:
///
/// ```
/// #[derive(Debug, thiserror::Error)]
/// enum Inner { #[error("a")] A }
/// gcx_core::stable_names!(Inner { A => "Inner.A" });
///
/// #[derive(Debug, thiserror::Error)]
/// enum Outer { #[error("bad {0}")] Bad(String), #[error(transparent)] Inner(#[from] Inner) }
/// gcx_core::stable_names!(Outer { Bad(..) => "Outer.Bad"; Inner(Inner) });
///
/// use gcx_core::names::StableName;
/// assert_eq!(Outer::Inner(Inner::A).name(), "Inner.A");
/// assert_eq!(Outer::names(), ["Outer.Bad", "Inner.A"]);
/// ```
///
/// It also implements `From<Enum> for lambda_runtime::Diagnostic` (errorType = the name, errorMessage =
/// `Display`), so a handler's error reaches Step Functions under its stable name.
#[macro_export]
macro_rules! stable_names {
    // An enum without variants: the error type of a function that never fails as a whole.
    ($ty:ident {}) => {
        impl $crate::names::StableName for $ty {
            fn name(&self) -> &'static str {
                match *self {}
            }

            fn names() -> ::std::vec::Vec<&'static str> {
                ::std::vec::Vec::new()
            }
        }

        impl ::core::convert::From<$ty> for $crate::lambda_runtime::Diagnostic {
            fn from(e: $ty) -> Self {
                match e {}
            }
        }
    };
    ($ty:ident {
        $( $variant:ident $( ( $($tuple:tt)* ) )? $( { $($fields:tt)* } )? => $name:literal ),* $(,)?
        $( ; $( $wrapper:ident ( $inner:ty ) ),* $(,)? )?
    }) => {
        impl $crate::names::StableName for $ty {
            fn name(&self) -> &'static str {
                #[allow(unreachable_patterns)]
                match self {
                    $( $ty::$variant $( ( $($tuple)* ) )? $( { $($fields)* } )? => $name, )*
                    $( $( $ty::$wrapper(inner) => $crate::names::StableName::name(inner), )* )?
                }
            }

            fn names() -> ::std::vec::Vec<&'static str> {
                #[allow(unused_mut)]
                let mut names: ::std::vec::Vec<&'static str> = ::std::vec![$($name),*];
                $( $( names.extend(<$inner as $crate::names::StableName>::names()); )* )?
                names
            }
        }

        impl ::core::convert::From<$ty> for $crate::lambda_runtime::Diagnostic {
            fn from(e: $ty) -> Self {
                $crate::lambda_runtime::Diagnostic {
                    error_type: $crate::names::StableName::name(&e).into(),
                    error_message: $crate::names::error_message(&e),
                }
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::StableName;

    #[test]
    fn long_messages_are_cut() {
        let long = "é".repeat(3 * super::MAX_ERROR_MESSAGE_CHARS);
        let cut = super::error_message(&long);
        assert_eq!(cut.chars().count(), super::MAX_ERROR_MESSAGE_CHARS + 1);
        assert!(cut.ends_with('…'));
        assert_eq!(super::error_message(&"short"), "short");
    }

    #[derive(Debug, thiserror::Error)]
    enum Leaf {
        #[error("a")]
        A,
        #[error("b {0}")]
        B(u8),
        #[error("c {x}")]
        C { x: u8 },
    }
    crate::stable_names!(Leaf {
        A => "Leaf.A",
        B(..) => "Leaf.B",
        C { .. } => "Leaf.C",
    });

    #[derive(Debug, thiserror::Error)]
    enum Wrapper {
        #[error("own")]
        Own,
        #[error(transparent)]
        Leaf(#[from] Leaf),
    }
    crate::stable_names!(Wrapper { Own => "Wrapper.Own"; Leaf(Leaf) });

    #[test]
    fn names_come_from_the_one_declaration() {
        assert_eq!(Leaf::B(1).name(), "Leaf.B");
        assert_eq!(Leaf::C { x: 1 }.name(), "Leaf.C");
        assert_eq!(Wrapper::Leaf(Leaf::A).name(), "Leaf.A");
        assert_eq!(Wrapper::Own.name(), "Wrapper.Own");
        assert_eq!(
            Wrapper::names(),
            ["Wrapper.Own", "Leaf.A", "Leaf.B", "Leaf.C"]
        );
        let d: lambda_runtime::Diagnostic = Wrapper::Leaf(Leaf::C { x: 7 }).into();
        assert_eq!(
            (d.error_type.as_str(), d.error_message.as_str()),
            ("Leaf.C", "c 7")
        );
    }
}
