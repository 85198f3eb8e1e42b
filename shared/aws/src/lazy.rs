//! SDK clients made on first use: a function builds only the clients it calls (the click
//! path never texts; most functions never publish), all from the one shared configuration.

use std::fmt;
use std::ops::Deref;
use std::sync::{Arc, OnceLock};

/// A client built by `make` the first time it is used, then shared by every clone.
pub struct Lazy<C> {
    cell: Arc<OnceLock<C>>,
    make: Arc<dyn Fn() -> C + Send + Sync>,
}

impl<C> Lazy<C> {
    pub fn new(make: impl Fn() -> C + Send + Sync + 'static) -> Self {
        Self {
            cell: Arc::default(),
            make: Arc::new(make),
        }
    }

    /// Whether it has been built yet.
    pub fn is_built(&self) -> bool {
        self.cell.get().is_some()
    }
}

impl<C> Clone for Lazy<C> {
    fn clone(&self) -> Self {
        Self {
            cell: self.cell.clone(),
            make: self.make.clone(),
        }
    }
}

impl<C> Deref for Lazy<C> {
    type Target = C;
    fn deref(&self) -> &C {
        self.cell.get_or_init(|| (self.make)())
    }
}

impl<C> fmt::Debug for Lazy<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lazy")
            .field("built", &self.is_built())
            .finish()
    }
}
