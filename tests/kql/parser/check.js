// Parses and analyses KQL queries with Microsoft's Kusto language service
// (@kusto/language-service-next, pinned in package-lock.json).
//
// stdin:  {"schemaDir": "...", "queries": [{"name": "...", "text": "..."}]}
// stdout: [{"name", "diagnostics": [{"severity", "code", "message", "start"}], "literals": [...], "depthOk": bool}]
//
// The global state holds EmailEvents (the union of the Defender XDR and Sentinel column
// lists in tests/corpus/schema), the other email tables the corpus reads, and the
// functions Sentinel provides (_GetWatchlist, _Im_NetworkSession).
'use strict';
const fs = require('fs');
const path = require('path');
require('@kusto/language-service-next/bridge.min.js');
require('@kusto/language-service-next/Kusto.Language.Bridge.min.js');
const K = Kusto.Language;
const S = K.Symbols;

const input = JSON.parse(fs.readFileSync(0, 'utf8'));

function emailEventsSchema(dir) {
  const cols = new Map();
  for (const f of ['EmailEvents.defender.json', 'EmailEvents.sentinel.json']) {
    const doc = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'));
    for (const c of doc.columns) {
      // AdditionalFields is string in one variant and dynamic in the other: dynamic reads both.
      const prev = cols.get(c.name);
      cols.set(c.name, prev && prev !== c.type ? 'dynamic' : c.type);
    }
  }
  return '(' + [...cols].map(([n, t]) => `['${n}']:${t}`).join(', ') + ')';
}

const tables = {
  EmailEvents: emailEventsSchema(input.schemaDir),
  EmailUrlInfo: '(Timestamp:datetime, TimeGenerated:datetime, NetworkMessageId:string, Url:string, UrlDomain:string, UrlLocation:string, ReportId:string)',
  EmailAttachmentInfo: '(Timestamp:datetime, TimeGenerated:datetime, NetworkMessageId:string, SenderFromAddress:string, SenderDisplayName:string, SenderObjectId:string, RecipientEmailAddress:string, RecipientObjectId:string, FileName:string, FileType:string, SHA256:string, FileSize:long, ThreatTypes:string, ThreatNames:string, DetectionMethods:string, ReportId:string)',
  EmailPostDeliveryEvents: '(Timestamp:datetime, TimeGenerated:datetime, NetworkMessageId:string, InternetMessageId:string, Action:string, ActionType:string, ActionTrigger:string, ActionResult:string, RecipientEmailAddress:string, DeliveryLocation:string, ThreatTypes:string, DetectionMethods:string, ReportId:string)',
  UrlClickEvents: '(Timestamp:datetime, TimeGenerated:datetime, Url:string, ActionType:string, AccountUpn:string, Workload:string, NetworkMessageId:string, ThreatTypes:string, DetectionMethods:string, IPAddress:string, IsClickedThrough:bool, UrlChain:string, ReportId:string)',
};
const members = Object.entries(tables).map(([n, s]) => new S.TableSymbol.$ctor7(n, s, null));
members.push(new S.FunctionSymbol.$ctor16('_GetWatchlist', '(watchlistAlias:string)',
  '{ datatable(SearchKey:string, Value:string, Exclusion:string, _DTItemId:string, LastUpdatedTimeUTC:datetime)[] }', null));
members.push(new S.FunctionSymbol.$ctor16('_Im_NetworkSession', '(starttime:datetime=datetime(null), endtime:datetime=datetime(null))',
  '{ datatable(TimeGenerated:datetime, SrcIpAddr:string, SrcPortNumber:int, DstIpAddr:string, DstPortNumber:int, DstBytes:long, SrcBytes:long)[] }', null));
const db = new S.DatabaseSymbol.ctor('db', members);
const globals = K.GlobalState.Default.WithDatabase(db);

const out = [];
for (const q of input.queries) {
  const code = K.KustoCode.ParseAndAnalyze(q.text, globals);
  const diags = [];
  const d = code.GetDiagnostics();
  for (let i = 0; i < d.Count; i++) {
    const x = d.getItem(i);
    diags.push({ severity: x.Severity, code: x.Code, message: x.Message, start: x.Start });
  }
  const literals = [];
  if (q.literals) {
    K.Syntax.SyntaxElement.WalkNodes(code.Syntax, function (n) {
      if (n instanceof K.Syntax.LiteralExpression && n.Kind === K.Syntax.SyntaxKind.StringLiteralExpression) {
        literals.push(n.LiteralValue);
      }
    }, null);
  }
  out.push({ name: q.name, diagnostics: diags, literals });
}
process.stdout.write(JSON.stringify(out));
