<?xml version="1.0" encoding="UTF-8"?>
<!--
  copy-motivation.xsl - "copy to a new motivation": the stored message
  that created a case, as a new motivation-submit message the prescriber
  can edit and send (e.g. the same patient, another strength).

  Removed: everything that identifies the old message or case - the
  Bundle's id, identifier and timestamp, the MessageHeader's id, the
  Task's identifiers, status history and dates, meta versions - and the
  MedicationRequest's authoredOn and validity period. The Task becomes a
  draft. References inside the message are kept as they are.
-->
<xsl:stylesheet version="1.0"
    xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
    xmlns:f="http://hl7.org/fhir"
    xmlns="http://hl7.org/fhir"
    exclude-result-prefixes="f">
  <xsl:output method="xml" encoding="UTF-8" indent="no"/>

  <xsl:template match="@* | node()">
    <xsl:copy><xsl:apply-templates select="@* | node()"/></xsl:copy>
  </xsl:template>

  <xsl:template match="/f:Bundle/f:id | /f:Bundle/f:identifier | /f:Bundle/f:timestamp | /f:Bundle/f:meta"/>
  <xsl:template match="f:MessageHeader/f:id | f:MessageHeader/f:response"/>
  <xsl:template match="f:Task/f:identifier | f:Task/f:businessStatus | f:Task/f:authoredOn | f:Task/f:lastModified | f:Task/f:output"/>
  <xsl:template match="f:resource/*/f:meta/f:versionId | f:resource/*/f:meta/f:lastUpdated"/>
  <xsl:template match="f:MedicationRequest/f:authoredOn | f:MedicationRequest/f:dispenseRequest/f:validityPeriod"/>
  <xsl:template match="f:Task/f:status"><status value="draft"/></xsl:template>
  <xsl:template match="f:MessageHeader/f:eventCoding/f:code"><code value="motivation-submit"/></xsl:template>
</xsl:stylesheet>
