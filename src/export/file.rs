//! Writing an export to a file: into a temporary file beside it, renamed into place once
//! complete, so a failure part-way never leaves a half-written file, and an existing file is
//! replaced only when asked.

use std::fs;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum SaveError {
    #[error("{}: already exists", path.display())]
    Exists { path: PathBuf },
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
}

/// Writes `path` through `write`. Without `replace`, an existing `path` is left as it was and
/// the answer is `SaveError::Exists`, even when the file appears while `write` runs. A replaced
/// file keeps its permissions.
pub fn save(path: &Path, replace: bool, write: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> Result<(), SaveError> {
    let failed = |source: io::Error| SaveError::Io { path: path.to_path_buf(), source };
    let existing = fs::metadata(path).ok();
    if existing.is_some() && !replace {
        return Err(SaveError::Exists { path: path.to_path_buf() });
    }
    if existing.as_ref().is_some_and(|m| m.is_dir()) {
        return Err(failed(io::Error::new(io::ErrorKind::IsADirectory, "is a directory")));
    }
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let prefix = format!(".{name}.");
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(".tmp");
    #[cfg(unix)]
    {
        // A temporary file is private by default; the export is an ordinary file, so it gets
        // what any new file gets under the umask.
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(fs::Permissions::from_mode(0o666));
    }
    // Dropped on any early return, which deletes it.
    let temp = builder.tempfile_in(dir).map_err(failed)?;
    if let Some(meta) = &existing {
        fs::set_permissions(temp.path(), meta.permissions()).map_err(failed)?;
    }
    let mut out = BufWriter::new(temp.as_file());
    write(&mut out).map_err(failed)?;
    out.flush().map_err(failed)?;
    drop(out);
    temp.as_file().sync_all().map_err(failed)?;
    let persisted = if replace { temp.persist(path) } else { temp.persist_noclobber(path) };
    match persisted {
        Ok(_) => Ok(()),
        Err(e) if !replace && e.error.kind() == io::ErrorKind::AlreadyExists => {
            Err(SaveError::Exists { path: path.to_path_buf() })
        }
        Err(e) => Err(failed(e.error)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_write_leaves_no_file_and_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.csv");
        let err = save(&path, false, |out: &mut dyn Write| {
            out.write_all(b"half")?;
            Err(io::Error::other("disk full"))
        })
        .unwrap_err();
        assert!(err.to_string().contains("disk full"), "{err}");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0, "nothing is left behind");
    }

    #[test]
    fn an_existing_file_is_kept_unless_replacing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.csv");
        fs::write(&path, "before").unwrap();
        let err = save(&path, false, |out: &mut dyn Write| out.write_all(b"after")).unwrap_err();
        assert!(matches!(err, SaveError::Exists { .. }), "{err}");
        assert_eq!(fs::read_to_string(&path).unwrap(), "before");
        save(&path, true, |out: &mut dyn Write| out.write_all(b"after")).unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "after");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1, "no temporary file is left");
    }

    #[cfg(unix)]
    #[test]
    fn a_replaced_file_keeps_its_permissions() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.md");
        fs::write(&path, "before").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
        save(&path, true, |out: &mut dyn Write| out.write_all(b"after")).unwrap();
        assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o640);
    }
}
