-- One checksum over everything a prediction depends on: the model text and its metadata
-- (temperature, features, Elo parameters …) exactly as stored. `model_sha256` covered the
-- text alone, so an edited temperature was used silently.
-- Models stored before this migration get the checksum of what they hold now, but only
-- when their text still matches model_sha256; a model already corrupted keeps NULL and
-- is refused on load. acebet.model.model_checksum computes the same digest.
ALTER TABLE models ADD COLUMN checksum VARCHAR;

UPDATE models
SET checksum = sha256(model_text || chr(10) || CAST(metadata AS VARCHAR))
WHERE sha256(model_text) = model_sha256;
