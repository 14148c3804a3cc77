/**
 * A counter that moves whenever a token changes, so a server notices token changes made
 * by other connections (the CLI) without reloading on every history write.
 */
export const sql = `
INSERT OR IGNORE INTO meta (key, value) VALUES ('tokens_version', '0');
CREATE TRIGGER tokens_version_insert AFTER INSERT ON tokens BEGIN
  UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'tokens_version';
END;
CREATE TRIGGER tokens_version_update AFTER UPDATE ON tokens BEGIN
  UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'tokens_version';
END;
CREATE TRIGGER tokens_version_delete AFTER DELETE ON tokens BEGIN
  UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'tokens_version';
END;
`;
