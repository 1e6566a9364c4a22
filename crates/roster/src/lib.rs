//! 参保登记名册 (roster) files: reading and row-by-row validation.
