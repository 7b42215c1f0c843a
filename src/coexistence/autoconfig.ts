// Client autoconfiguration (the seed's Profile Redirector and Outlook Autodiscover):
// for one address, the IMAP/SMTP servers of the organization that holds the mailbox at
// this moment: before cutover the old ones, after cutover the new ones. Three formats:
// Thunderbird's config-v1.1.xml, Outlook's POX Autodiscover and an Apple configuration
// profile. Every value is escaped by escapeXml.
import { createHash } from 'node:crypto';
import type { CoexistenceOrgConfig, MailServerConfig } from '../config/coexistence.ts';
import { escapeXml as x } from './xml.ts';

/** What the three formats need: where the person's mailbox is, and that org's servers. */
export interface ClientSettings {
  email: string;
  displayName: string;
  /** The IMAP/SMTP login name in the organization that holds the mailbox. */
  login: string;
  org: string;
  orgDisplayName: string;
  domain: string;
  servers: CoexistenceOrgConfig;
}

function tbServer(kind: 'incomingServer' | 'outgoingServer', type: string, s: MailServerConfig, login: string): string {
  return `    <${kind} type="${type}">
      <hostname>${x(s.host)}</hostname>
      <port>${x(s.port)}</port>
      <socketType>${x(s.socketType)}</socketType>
      <authentication>password-cleartext</authentication>
      <username>${x(login)}</username>
    </${kind}>
`;
}

export function thunderbirdConfig(c: ClientSettings): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<clientConfig version="1.1">
  <emailProvider id="${x(c.domain)}">
    <domain>${x(c.domain)}</domain>
    <displayName>${x(c.orgDisplayName)}</displayName>
    <displayShortName>${x(c.orgDisplayName)}</displayShortName>
${tbServer('incomingServer', 'imap', c.servers.imap, c.login)}${tbServer('outgoingServer', 'smtp', c.servers.smtp, c.login)}  </emailProvider>
</clientConfig>
`;
}

function poxProtocol(type: string, s: MailServerConfig, login: string): string {
  const encryption = s.socketType === 'SSL' ? 'SSL' : s.socketType === 'STARTTLS' ? 'TLS' : 'None';
  return `      <Protocol>
        <Type>${type}</Type>
        <Server>${x(s.host)}</Server>
        <Port>${x(s.port)}</Port>
        <LoginName>${x(login)}</LoginName>
        <DomainRequired>off</DomainRequired>
        <SPA>off</SPA>
        <SSL>${s.socketType === 'plain' ? 'off' : 'on'}</SSL>
        <Encryption>${encryption}</Encryption>
        <AuthRequired>on</AuthRequired>
      </Protocol>
`;
}

export function autodiscoverResponse(c: ClientSettings): string {
  return `<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006">
  <Response xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a">
    <User>
      <DisplayName>${x(c.displayName)}</DisplayName>
    </User>
    <Account>
      <AccountType>email</AccountType>
      <Action>settings</Action>
${poxProtocol('IMAP', c.servers.imap, c.login)}${poxProtocol('SMTP', c.servers.smtp, c.login)}    </Account>
  </Response>
</Autodiscover>
`;
}

/** Autodiscover's own error answer (Outlook shows the message). */
export function autodiscoverError(code: number, message: string): string {
  return `<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006">
  <Response>
    <Error Time="${x(new Date().toISOString().slice(11, 19))}" Id="0">
      <ErrorCode>${x(code)}</ErrorCode>
      <Message>${x(message)}</Message>
      <DebugData />
    </Error>
  </Response>
</Autodiscover>
`;
}

/** A stable UUID from a name, so re-installing the profile replaces the old one. */
function nameUuid(name: string): string {
  const h = createHash('sha256').update(name).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`.toUpperCase();
}

const str = (k: string, v: string | number) => `      <key>${k}</key>\n      <string>${x(v)}</string>\n`;
const int = (k: string, v: number) => `      <key>${k}</key>\n      <integer>${x(v)}</integer>\n`;
const bool = (k: string, v: boolean) => `      <key>${k}</key>\n      ${v ? '<true/>' : '<false/>'}\n`;

/** An unsigned Apple configuration profile (.mobileconfig) with one IMAP account. */
export function appleProfile(c: ClientSettings, publicHost: string): string {
  const id = `${publicHost.split('.').reverse().join('.')}.crossforest`;
  const account = nameUuid(`account:${c.email}`);
  const profile = nameUuid(`profile:${c.email}`);
  return `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
  <key>PayloadContent</key>
  <array>
    <dict>
${str('EmailAccountDescription', c.orgDisplayName)}${str('EmailAccountName', c.displayName)}${str('EmailAccountType', 'EmailTypeIMAP')}${str('EmailAddress', c.email)}${str('IncomingMailServerAuthentication', 'EmailAuthPassword')}${str('IncomingMailServerHostName', c.servers.imap.host)}${int('IncomingMailServerPortNumber', c.servers.imap.port)}${bool('IncomingMailServerUseSSL', c.servers.imap.socketType !== 'plain')}${str('IncomingMailServerUsername', c.login)}${str('OutgoingMailServerAuthentication', 'EmailAuthPassword')}${str('OutgoingMailServerHostName', c.servers.smtp.host)}${int('OutgoingMailServerPortNumber', c.servers.smtp.port)}${bool('OutgoingMailServerUseSSL', c.servers.smtp.socketType !== 'plain')}${str('OutgoingMailServerUsername', c.login)}${bool('OutgoingPasswordSameAsIncomingPassword', true)}${str('PayloadDisplayName', `${c.orgDisplayName} mail`)}${str('PayloadIdentifier', `${id}.mail.${account}`)}${str('PayloadType', 'com.apple.mail.managed')}${str('PayloadUUID', account)}${int('PayloadVersion', 1)}    </dict>
  </array>
  <key>PayloadDisplayName</key>
  <string>${x(`${c.orgDisplayName} mail for ${c.email}`)}</string>
  <key>PayloadIdentifier</key>
  <string>${x(`${id}.${profile}`)}</string>
  <key>PayloadRemovalDisallowed</key>
  <false/>
  <key>PayloadType</key>
  <string>Configuration</string>
  <key>PayloadUUID</key>
  <string>${profile}</string>
  <key>PayloadVersion</key>
  <integer>1</integer>
</dict>
</plist>
`;
}
