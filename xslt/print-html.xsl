<?xml version="1.0" encoding="UTF-8"?>
<!--
  print-html.xsl - every field of a case as printable HTML: the
  prescriber's receipt and archive copy of a licensmotivering.

  Input: a case view (case-view.xsl, and pharmacy-view.xsl for a
  pharmacy: what was redacted there is simply absent here). Labels are
  Swedish, as on the KLAS form, with English beside them. No scripts, no
  external resources: the page prints as it is (A4, no row split across
  pages). Times are Swedish local time with the zone named
  (gw:stockholm-time, src/map/printtime.c); codes are shown as their
  names; rows without a value are left out.

  Parameters, set by src/map/view.c (gw_view_print): printed, when it
  was printed (Swedish time); decisions, the decision line of every
  status whose row is decided ("|Bev=Beviljad / granted|...|", from
  GW_CASE_STATUS_ROWS); in_force, the status whose licence is in force
  (its validity and amount are printed). The referensnummer and print time are also in
  <meta name="klas-refnr">/<meta name="klas-printed"> for the PDF's
  footer on every page (src/map/pdf.c).
-->
<xsl:stylesheet version="1.0"
    xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
    xmlns:f="http://hl7.org/fhir"
    xmlns:gw="urn:klasgw:xslt"
    exclude-result-prefixes="f gw">
  <xsl:output method="html" encoding="UTF-8" indent="yes"
      doctype-system="about:legacy-compat"/>

  <xsl:param name="printed"/>
  <xsl:param name="decisions" select="'|'"/>
  <xsl:param name="in_force"/>
  <xsl:variable name="EXT" select="'http://klasgw.org/fhir/StructureDefinition/'"/>
  <xsl:key name="res" match="/f:Bundle/f:entry/f:resource/*"
      use="concat(local-name(), '/', f:id/@value)"/>

  <xsl:variable name="task" select="/f:Bundle/f:entry/f:resource/f:Task[1]"/>
  <xsl:variable name="mr" select="key('res', $task/f:focus/f:reference/@value)"/>
  <xsl:variable name="med-ref" select="$mr/f:medicationReference/f:reference/@value"/>
  <xsl:variable name="med" select="$mr/f:contained/f:Medication[concat('#', f:id/@value) = $med-ref] | key('res', $med-ref)"/>
  <xsl:variable name="subject" select="key('res', $mr/f:subject/f:reference/@value)"/>
  <xsl:variable name="prole" select="key('res', $mr/f:requester/f:reference/@value)"/>
  <xsl:variable name="pract" select="key('res', $prole/f:practitioner/f:reference/@value)"/>
  <xsl:variable name="clinic" select="key('res', $prole/f:organization/f:reference/@value)"/>
  <xsl:variable name="hospital" select="key('res', $clinic/f:partOf/f:reference/@value)"/>
  <xsl:variable name="pharmacy" select="key('res', $task/f:owner/f:reference/@value)"/>

  <xsl:template name="row">
    <xsl:param name="sv"/>
    <xsl:param name="en"/>
    <xsl:param name="value"/>
    <!-- A row without a value (only separators left) is not printed. -->
    <xsl:if test="normalize-space(translate($value, ',–-', '')) != ''">
      <tr><th><xsl:value-of select="$sv"/><span class="en"><xsl:value-of select="$en"/></span></th>
          <td><xsl:value-of select="$value"/></td></tr>
    </xsl:if>
  </xsl:template>

  <!-- A personnummer as ÅÅÅÅMMDD-NNNN; a date of birth as it is. -->
  <xsl:template name="pnr">
    <xsl:param name="v"/>
    <xsl:choose>
      <xsl:when test="string-length($v) = 12 and translate($v, '0123456789', '') = ''">
        <xsl:value-of select="concat(substring($v, 1, 8), '-', substring($v, 9))"/>
      </xsl:when>
      <xsl:otherwise><xsl:value-of select="$v"/></xsl:otherwise>
    </xsl:choose>
  </xsl:template>

  <xsl:template match="/">
    <html lang="sv">
      <head>
        <meta charset="utf-8"/>
        <title>Licensmotivering <xsl:value-of select="$task/f:id/@value"/></title>
        <meta name="klas-refnr" content="{$task/f:identifier/f:value/@value}"/>
        <meta name="klas-printed" content="{$printed}"/>
        <style>
          body { font: 11pt/1.4 sans-serif; margin: 2em; color: #111; }
          h1 { font-size: 16pt; } h2 { font-size: 12pt; border-bottom: 1px solid #999; margin-top: 1.5em; }
          table { border-collapse: collapse; width: 100%; }
          th { text-align: left; width: 35%; vertical-align: top; padding: 2px 8px 2px 0; }
          td { padding: 2px 0; white-space: pre-wrap; vertical-align: top; }
          .en { display: block; font-weight: normal; font-size: 8pt; color: #555; }
          .note { font-size: 9pt; color: #555; }
          @page { size: A4; margin: 20mm 18mm 22mm 18mm;
                  @bottom-left { content: "Referensnummer <xsl:value-of select="translate($task/f:identifier/f:value/@value, '&quot;\', '')"/> – utskriven <xsl:value-of select="translate($printed, '&quot;\', '')"/> – Sida " counter(page) " av " counter(pages) " (page " counter(page) " of " counter(pages) ")";
                                 font: 8pt sans-serif; color: #555; } }
          @media print {
            body { margin: 0; }
            tr, th, td { page-break-inside: avoid; break-inside: avoid; }
            h1, h2 { page-break-after: avoid; break-after: avoid;
                     page-break-inside: avoid; break-inside: avoid; }
          }
        </style>
      </head>
      <body>
        <h1>Licensmotivering <span class="en">Licence motivation</span></h1>
        <p class="note">Referensnummer <xsl:value-of select="$task/f:identifier/f:value/@value"/> – utskriven <xsl:value-of select="$printed"/></p>
        <h2>Ärende <span class="en">Case</span></h2>
        <table>
          <xsl:call-template name="row"><xsl:with-param name="sv" select="'Referensnummer'"/><xsl:with-param name="en" select="'Reference number'"/><xsl:with-param name="value" select="$task/f:identifier/f:value/@value"/></xsl:call-template>
          <xsl:call-template name="row"><xsl:with-param name="sv" select="'Status'"/><xsl:with-param name="en" select="'Status'"/><xsl:with-param name="value" select="$task/f:businessStatus/f:coding/f:display/@value"/></xsl:call-template>
          <xsl:call-template name="row"><xsl:with-param name="sv" select="'Inskickad'"/><xsl:with-param name="en" select="'Submitted'"/><xsl:with-param name="value" select="gw:stockholm-time(string($task/f:authoredOn/@value))"/></xsl:call-template>
          <xsl:call-template name="row"><xsl:with-param name="sv" select="'Senast ändrad'"/><xsl:with-param name="en" select="'Last changed'"/><xsl:with-param name="value" select="gw:stockholm-time(string($task/f:lastModified/@value))"/></xsl:call-template>
          <xsl:variable name="lt" select="$mr/f:extension[@url = concat($EXT, 'klas-licence-type')]/f:valueCode/@value"/>
          <xsl:variable name="level" select="$mr/f:extension[@url = concat($EXT, 'klas-general-level')]/f:valueCode/@value"/>
          <xsl:call-template name="row"><xsl:with-param name="sv" select="'Licenstyp'"/><xsl:with-param name="en" select="'Licence type'"/><xsl:with-param name="value" select="concat(substring('Enskild licens (en patient) / individual licence', 1, 60 * ($lt = 'EH')), substring('Generell licens (vårdenheter) / general licence', 1, 60 * ($lt = 'GH')), substring(' – beredskapslicens / emergency preparedness', 1, 60 * ($mr/f:extension[@url = concat($EXT, 'klas-beredskap')]/f:valueBoolean/@value = 'true')))"/></xsl:call-template>
          <xsl:call-template name="row"><xsl:with-param name="sv" select="'Nivå'"/><xsl:with-param name="en" select="'Level'"/><xsl:with-param name="value" select="concat(substring('Vårdenhet / care unit', 1, 40 * ($level = 'unit')), substring('Förvaltning / administration', 1, 40 * ($level = 'administration')), substring('Region / region', 1, 40 * ($level = 'region')))"/></xsl:call-template>
        </table>

        <h2>Förskrivare <span class="en">Prescriber</span></h2>
        <table>
          <xsl:call-template name="row"><xsl:with-param name="sv" select="'Namn'"/><xsl:with-param name="en" select="'Name'"/><xsl:with-param name="value" select="concat($pract/f:name[1]/f:given[1]/@value, ' ', $pract/f:name[1]/f:family/@value)"/></xsl:call-template>
          <xsl:call-template name="row"><xsl:with-param name="sv" select="'HSA-id'"/><xsl:with-param name="en" select="'HSA id'"/><xsl:with-param name="value" select="$pract/f:identifier[f:system/@value = 'urn:oid:1.2.752.29.4.19']/f:value/@value"/></xsl:call-template>
          <xsl:call-template name="row"><xsl:with-param name="sv" select="'Specialistkompetens'"/><xsl:with-param name="en" select="'Specialty'"/><xsl:with-param name="value" select="$prole/f:specialty[1]/f:text/@value"/></xsl:call-template>
          <xsl:call-template name="row"><xsl:with-param name="sv" select="'Befattning'"/><xsl:with-param name="en" select="'Position'"/><xsl:with-param name="value" select="$prole/f:code[1]/f:text/@value"/></xsl:call-template>
          <xsl:call-template name="row"><xsl:with-param name="sv" select="'Sjukhus'"/><xsl:with-param name="en" select="'Hospital'"/><xsl:with-param name="value" select="$hospital/f:name/@value"/></xsl:call-template>
          <xsl:call-template name="row"><xsl:with-param name="sv" select="'Klinik'"/><xsl:with-param name="en" select="'Clinic'"/><xsl:with-param name="value" select="$clinic/f:name/@value"/></xsl:call-template>
          <xsl:call-template name="row"><xsl:with-param name="sv" select="'Adress'"/><xsl:with-param name="en" select="'Address'"/><xsl:with-param name="value" select="concat($clinic/f:address[1]/f:line[1]/@value, ', ', $clinic/f:address[1]/f:postalCode/@value, ' ', $clinic/f:address[1]/f:city/@value)"/></xsl:call-template>
          <xsl:call-template name="row"><xsl:with-param name="sv" select="'Telefon'"/><xsl:with-param name="en" select="'Phone'"/><xsl:with-param name="value" select="$prole/f:telecom[f:system/@value = 'phone']/f:value/@value"/></xsl:call-template>
          <xsl:call-template name="row"><xsl:with-param name="sv" select="'E-post'"/><xsl:with-param name="en" select="'E-mail'"/><xsl:with-param name="value" select="$prole/f:telecom[f:system/@value = 'email']/f:value/@value"/></xsl:call-template>
        </table>

        <h2>Produkt <span class="en">Product</span></h2>
        <table>
          <xsl:call-template name="row"><xsl:with-param name="sv" select="'Produktnamn'"/><xsl:with-param name="en" select="'Product name'"/><xsl:with-param name="value" select="$med/f:code/f:text/@value | $mr/f:medicationCodeableConcept/f:text/@value"/></xsl:call-template>
          <xsl:variable name="kind" select="$med/f:extension[@url = concat($EXT, 'klas-product-kind')]/f:valueCode/@value"/>
          <xsl:call-template name="row"><xsl:with-param name="sv" select="'Sätt'"/><xsl:with-param name="en" select="'Given as'"/><xsl:with-param name="value" select="concat(substring('Sökt bland beviljade licenser / searched', 1, 60 * ($kind = 'searched')), substring('Manuellt inmatad / entered by hand', 1, 60 * ($kind = 'manual')), substring('Livsmedel / food', 1, 60 * ($kind = 'food')))"/></xsl:call-template>
          <xsl:call-template name="row"><xsl:with-param name="sv" select="'Aktiv(a) substans(er)'"/><xsl:with-param name="en" select="'Active substance(s)'"/><xsl:with-param name="value" select="$med/f:ingredient/f:itemCodeableConcept/f:text/@value"/></xsl:call-template>
          <xsl:call-template name="row"><xsl:with-param name="sv" select="'Styrka'"/><xsl:with-param name="en" select="'Strength'"/><xsl:with-param name="value" select="$med/f:extension[@url = concat($EXT, 'klas-strength')]/f:valueString/@value"/></xsl:call-template>
          <xsl:call-template name="row"><xsl:with-param name="sv" select="'Läkemedelsform'"/><xsl:with-param name="en" select="'Form'"/><xsl:with-param name="value" select="$med/f:form/f:text/@value"/></xsl:call-template>
          <xsl:call-template name="row"><xsl:with-param name="sv" select="'Tillståndsinnehavare'"/><xsl:with-param name="en" select="'Licence holder'"/><xsl:with-param name="value" select="$med/f:manufacturer/f:display/@value"/></xsl:call-template>
          <xsl:call-template name="row"><xsl:with-param name="sv" select="'NPL-id'"/><xsl:with-param name="en" select="'NPL id'"/><xsl:with-param name="value" select="$med/f:code/f:coding[f:system/@value = 'http://electronichealth.se/identifier/nplid']/f:code/@value"/></xsl:call-template>
          <xsl:call-template name="row"><xsl:with-param name="sv" select="'ATC-kod'"/><xsl:with-param name="en" select="'ATC code'"/><xsl:with-param name="value" select="$med/f:code/f:coding[f:system/@value = 'http://www.whocc.no/atc']/f:code/@value"/></xsl:call-template>
          <xsl:call-template name="row"><xsl:with-param name="sv" select="'Godkänd i land'"/><xsl:with-param name="en" select="'Approved in'"/><xsl:with-param name="value" select="concat($med/f:extension[@url = concat($EXT, 'klas-approval')]/f:extension[@url = 'country']/f:valueString/@value, ' ', $med/f:extension[@url = concat($EXT, 'klas-approval')]/f:extension[@url = 'number']/f:valueString/@value)"/></xsl:call-template>
          <xsl:call-template name="row"><xsl:with-param name="sv" select="'Ej godkänd: kommentar'"/><xsl:with-param name="en" select="'Not approved: comment'"/><xsl:with-param name="value" select="$med/f:extension[@url = concat($EXT, 'klas-not-approved')]/f:valueString/@value"/></xsl:call-template>
          <xsl:call-template name="row"><xsl:with-param name="sv" select="'Dosering'"/><xsl:with-param name="en" select="'Dosage'"/><xsl:with-param name="value" select="$mr/f:dosageInstruction[1]/f:text/@value"/></xsl:call-template>
          <xsl:call-template name="row"><xsl:with-param name="sv" select="'Totalmängd'"/><xsl:with-param name="en" select="'Total amount'"/><xsl:with-param name="value" select="concat($mr/f:dispenseRequest/f:quantity/f:value/@value, ' ', $mr/f:dispenseRequest/f:quantity/f:unit/@value)"/></xsl:call-template>
<!-- The validity period is the decision's: under Beslut. -->
        </table>

        <xsl:choose>
          <xsl:when test="$subject/self::f:Patient">
            <h2>Patient <span class="en">Patient</span></h2>
            <table>
              <xsl:call-template name="row"><xsl:with-param name="sv" select="'Namn'"/><xsl:with-param name="en" select="'Name'"/><xsl:with-param name="value" select="concat($subject/f:name[1]/f:given[1]/@value, ' ', $subject/f:name[1]/f:family/@value, $subject/f:name[1]/f:text/@value)"/></xsl:call-template>
              <xsl:call-template name="row"><xsl:with-param name="sv" select="'Personnummer / födelsedatum'"/><xsl:with-param name="en" select="'Personal id / date of birth'"/><xsl:with-param name="value"><xsl:call-template name="pnr"><xsl:with-param name="v" select="string($subject/f:identifier[1]/f:value/@value)"/></xsl:call-template></xsl:with-param></xsl:call-template>
              <xsl:call-template name="row"><xsl:with-param name="sv" select="'Telefon'"/><xsl:with-param name="en" select="'Phone'"/><xsl:with-param name="value" select="$subject/f:telecom[f:system/@value = 'phone']/f:value/@value"/></xsl:call-template>
            </table>
          </xsl:when>
          <xsl:otherwise>
            <h2>Vårdenhet <span class="en">Care unit</span></h2>
            <table>
              <xsl:variable name="unit" select="key('res', $subject/f:managingEntity/f:reference/@value)"/>
              <xsl:call-template name="row"><xsl:with-param name="sv" select="'Grupp'"/><xsl:with-param name="en" select="'Group'"/><xsl:with-param name="value" select="$subject/f:name/@value"/></xsl:call-template>
              <xsl:call-template name="row"><xsl:with-param name="sv" select="'Klinik'"/><xsl:with-param name="en" select="'Clinic'"/><xsl:with-param name="value" select="$unit/f:name/@value"/></xsl:call-template>
              <xsl:call-template name="row"><xsl:with-param name="sv" select="'Sjukhus'"/><xsl:with-param name="en" select="'Hospital'"/><xsl:with-param name="value" select="key('res', $unit/f:partOf/f:reference/@value)/f:name/@value"/></xsl:call-template>
            </table>
          </xsl:otherwise>
        </xsl:choose>

        <!-- A decided status (its row in src/klas/state.h) has its line
             in $decisions: "|code=Swedish / English|...". -->
        <xsl:variable name="st" select="$task/f:businessStatus/f:coding/f:code/@value"/>
        <xsl:variable name="decision" select="substring-before(substring-after($decisions, concat('|', $st, '=')), '|')"/>
        <xsl:if test="$st != '' and $decision != ''">
          <h2>Beslut <span class="en">Decision</span></h2>
          <table>
            <xsl:call-template name="row"><xsl:with-param name="sv" select="'Beslut'"/><xsl:with-param name="en" select="'Decision'"/><xsl:with-param name="value" select="$decision"/></xsl:call-template>
            <xsl:call-template name="row"><xsl:with-param name="sv" select="'Beslutsdatum'"/><xsl:with-param name="en" select="'Decided'"/><xsl:with-param name="value" select="gw:stockholm-time(string($task/f:lastModified/@value))"/></xsl:call-template>
            <xsl:if test="$st = $in_force">
              <xsl:call-template name="row"><xsl:with-param name="sv" select="'Giltig'"/><xsl:with-param name="en" select="'Valid'"/><xsl:with-param name="value" select="concat($mr/f:dispenseRequest/f:validityPeriod/f:start/@value, ' – ', $mr/f:dispenseRequest/f:validityPeriod/f:end/@value)"/></xsl:call-template>
              <xsl:call-template name="row"><xsl:with-param name="sv" select="'Beviljad mängd'"/><xsl:with-param name="en" select="'Granted amount'"/><xsl:with-param name="value" select="concat($mr/f:dispenseRequest/f:quantity/f:value/@value, ' ', $mr/f:dispenseRequest/f:quantity/f:unit/@value)"/></xsl:call-template>
            </xsl:if>
          </table>
        </xsl:if>

        <xsl:if test="$mr/f:extension[@url = concat($EXT, 'klas-motivation')] or $mr/f:reasonCode">
          <h2>Motivering <span class="en">Motivation</span></h2>
          <table>
            <xsl:for-each select="$mr/f:extension[@url = concat($EXT, 'klas-motivation')]/f:extension[@url = 'reason']">
              <xsl:call-template name="row"><xsl:with-param name="sv" select="'Skäl'"/><xsl:with-param name="en" select="'Reason'"/><xsl:with-param name="value" select="f:valueCoding/f:display/@value | f:valueCoding/f:code/@value[not(../../f:display)]"/></xsl:call-template>
            </xsl:for-each>
            <xsl:call-template name="row"><xsl:with-param name="sv" select="'Behandlingsindikation'"/><xsl:with-param name="en" select="'Indication'"/><xsl:with-param name="value" select="$mr/f:reasonCode[1]/f:text/@value"/></xsl:call-template>
            <xsl:call-template name="row"><xsl:with-param name="sv" select="'Motiveringstext'"/><xsl:with-param name="en" select="'Motivation text'"/><xsl:with-param name="value" select="$mr/f:extension[@url = concat($EXT, 'klas-motivation')]/f:extension[@url = 'text']/f:valueString/@value"/></xsl:call-template>
          </table>
        </xsl:if>

        <xsl:if test="/f:Bundle/f:entry/f:resource/f:DocumentReference">
          <h2>Bilagor <span class="en">Attachments</span></h2>
          <table>
            <xsl:for-each select="/f:Bundle/f:entry/f:resource/f:DocumentReference">
              <!-- The label says what the row is; the file's title and
                   description are its value (a title alone still prints). -->
              <xsl:variable name="hidden" select="boolean(f:meta/f:security[f:code/@value = 'hidden-from-pharmacy'])"/>
              <xsl:variable name="title" select="string(f:content[1]/f:attachment/f:title/@value)"/>
              <xsl:variable name="desc" select="string(f:description/@value)"/>
              <xsl:call-template name="row"><xsl:with-param name="sv" select="concat('Bilaga', substring(' (dold för apotek)', 1, 40 * $hidden))"/><xsl:with-param name="en" select="concat('Attachment', substring(' (hidden from pharmacy)', 1, 40 * $hidden))"/><xsl:with-param name="value" select="concat($title, substring(' – ', 1, 3 * ($title != '' and $desc != '')), $desc)"/></xsl:call-template>
            </xsl:for-each>
          </table>
        </xsl:if>

        <xsl:if test="$pharmacy">
          <h2>Apotek <span class="en">Pharmacy</span></h2>
          <table>
            <xsl:call-template name="row"><xsl:with-param name="sv" select="'Namn'"/><xsl:with-param name="en" select="'Name'"/><xsl:with-param name="value" select="$pharmacy/f:name/@value"/></xsl:call-template>
            <xsl:call-template name="row"><xsl:with-param name="sv" select="'GLN'"/><xsl:with-param name="en" select="'GLN'"/><xsl:with-param name="value" select="$pharmacy/f:identifier[1]/f:value/@value"/></xsl:call-template>
          </table>
        </xsl:if>
        <p class="note">Utskrift från klasgw. <xsl:if test="$mr/f:meta/f:security[f:code/@value = 'REDACTED']">Motivering, indikation och dolda bilagor visas inte för apotek.</xsl:if></p>
      </body>
    </html>
  </xsl:template>
</xsl:stylesheet>
