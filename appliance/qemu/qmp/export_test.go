package qmp

// TranscriptLines is how many lines a monitor's transcript keeps, for the external tests.
const TranscriptLines = transcriptLines
