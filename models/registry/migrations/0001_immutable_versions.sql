-- A registered version is immutable: its bytes, schema, metrics and threshold are what was
-- validated and what aliases point at. A correction is a new version, never an edit.
CREATE TRIGGER `model_versions_immutable` BEFORE UPDATE ON `model_versions`
BEGIN
	SELECT RAISE(ABORT, 'model_versions rows are immutable; register a new version instead');
END;
